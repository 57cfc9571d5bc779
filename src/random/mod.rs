//! Random numbers: the Philox4x32-10 counter-based generator
//! ([`philox`]), the state of one stream and the layouts of the words a
//! draw reads ([`stream`]), and the samplers built on them
//! ([`distributions`]). The graph op that draws is
//! [`crate::ops::random::RandomFunction`].

pub mod distributions;
pub mod philox;
pub mod stream;

pub use philox::philox4x32_10;
pub use stream::{ElementStream, PhiloxState, STATE_LEN};
