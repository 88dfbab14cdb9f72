//! Credits: a workspace's wallet and ledger.

pub mod checkout;
pub mod ledger;
pub mod usage;
pub mod wallet;
