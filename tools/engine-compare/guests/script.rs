// Shared by both guests: the agent script, chosen at build time by a feature.
#[cfg(feature = "script-trivial")]
pub const SCRIPT: &str = include_str!("scripts/trivial.js");
#[cfg(feature = "script-cpu")]
pub const SCRIPT: &str = include_str!("scripts/cpu.js");
#[cfg(feature = "script-coverage")]
pub const SCRIPT: &str = include_str!("scripts/coverage.js");
#[cfg(feature = "script-deep")]
pub const SCRIPT: &str = include_str!("scripts/deep.js");
