//! What things cost here, for the pricing page: every number from the
//! server's configuration, nothing written twice.

use crate::Services;
use types::billing::{ModelPrice, Pricing};

/// The prices a visitor sees before signing up (no caller needed).
pub fn pricing(services: &Services) -> Pricing {
    let models = services
        .sandbox
        .as_ref()
        .map(|sandbox| {
            sandbox
                .models
                .0
                .iter()
                .map(|(model, price)| ModelPrice {
                    model: model.clone(),
                    input_credits_per_1k: price.input_per_1k,
                    output_credits_per_1k: price.output_per_1k,
                })
                .collect()
        })
        .unwrap_or_default();
    Pricing {
        credit: services.payments.as_ref().map(|p| p.top_up()),
        starter_credits: services.billing.starter_credits,
        creator_share_percent: services.billing.creator_share_percent,
        models,
    }
}
