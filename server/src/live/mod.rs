//! Live events over `/ws`: the hub that fans events out, and the socket
//! handler that speaks the frame protocol of DESIGN.md.

pub mod handshake;
pub mod hub;
pub mod listen;
pub mod socket;
