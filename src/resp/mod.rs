//! The Redis serialization protocol: request parsing and reply encoding.

pub mod parse;
pub mod reply;

pub use parse::{split_args, Limits, Parser, ProtoError};
pub use reply::Reply;
