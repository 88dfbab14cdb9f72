//! The language models agents may call, and their prices
//! (`AGENTDECK_LLM_MODELS`); `llm` charges for calls at these prices.

use std::collections::BTreeMap;

use runtime::CallError;
use runtime::llm::Tokens;

/// A model's price: credits per 1,000 tokens of prompt and of answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price {
    pub input_per_1k: i64,
    pub output_per_1k: i64,
}

impl Price {
    /// Thousandths of a credit that `tokens` cost.
    pub(crate) fn millis(self, tokens: Tokens) -> i128 {
        i128::from(self.input_per_1k) * i128::from(tokens.input)
            + i128::from(self.output_per_1k) * i128::from(tokens.output)
    }
}

/// `AGENTDECK_LLM_MODELS`: the models agents may ask for, each with its
/// price. Unset: only the provider's default model, free.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Models(pub BTreeMap<String, Price>);

impl Models {
    /// `model=<input credits>/<output credits>` per 1,000 tokens, separated
    /// by commas: `gpt-4o-mini=1/4,gpt-4o=10/40`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut models = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let expected = || {
                format!(
                    "{part:?}: expected <model>=<input credits>/<output credits> per 1,000 \
                     tokens, e.g. gpt-4o-mini=1/4"
                )
            };
            let (model, prices) = part.split_once('=').ok_or_else(expected)?;
            let (input, output) = prices.split_once('/').ok_or_else(expected)?;
            let price = Price {
                input_per_1k: input.trim().parse().map_err(|_| expected())?,
                output_per_1k: output.trim().parse().map_err(|_| expected())?,
            };
            if price.input_per_1k < 0 || price.output_per_1k < 0 || model.trim().is_empty() {
                return Err(expected());
            }
            models.insert(model.trim().to_owned(), price);
        }
        Ok(Self(models))
    }

    /// The price of `model`, or why it is refused. With no models
    /// configured, the provider's default model is free and the only one.
    pub fn price(&self, model: &str, default_model: &str) -> Result<Price, CallError> {
        if self.0.is_empty() {
            return if model == default_model {
                Ok(Price {
                    input_per_1k: 0,
                    output_per_1k: 0,
                })
            } else {
                Err(CallError::Denied(format!(
                    "model {model:?} is not offered here; leave the model unset for {default_model}"
                )))
            };
        }
        self.0.get(model).copied().ok_or_else(|| {
            CallError::Denied(format!(
                "model {model:?} is not offered here; models: {}",
                self.0.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Models, Price};
    use runtime::llm::Tokens;

    #[test]
    fn prices_read_and_refuse_unknown_models() {
        let models = Models::parse("gpt-4o-mini=1/4, big=10/40").expect("models");
        assert_eq!(
            models.price("big", "gpt-4o-mini"),
            Ok(Price {
                input_per_1k: 10,
                output_per_1k: 40
            })
        );
        assert!(models.price("other", "gpt-4o-mini").is_err());
        assert!(Models::parse("gpt=1").is_err());
        assert!(Models::parse("gpt=-1/2").is_err());
        let none = Models::default();
        assert!(none.price("gpt-4o-mini", "gpt-4o-mini").is_ok());
        assert!(none.price("o3", "gpt-4o-mini").is_err());
        let price = Price {
            input_per_1k: 2,
            output_per_1k: 6,
        };
        assert_eq!(
            price.millis(Tokens {
                input: 500,
                output: 100
            }),
            1_600
        );
    }
}
