//! Credits: a workspace's wallet and ledger.

pub mod ledger;
pub mod wallet;
