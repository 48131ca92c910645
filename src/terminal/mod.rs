//! The terminal: colour and progress ([`style`]) and questions to the user
//! ([`prompt`]). Text from a repository is made safe to print by
//! `core::escape` before it gets here.

pub mod prompt;
pub mod style;
