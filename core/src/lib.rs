#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod proto;

pub use proto::value::{Map, Value, ValueError, from_value, to_value};

#[cfg(feature = "tokio")]
mod runtime;

#[cfg(feature = "tokio")]
pub use runtime::*;
