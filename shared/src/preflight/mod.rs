//! kubectl todo preflight.

pub mod strvals;
pub mod values;
