//! rtensor: a Theano-style symbolic tensor runtime.
//!
//! The core owns every decision of meaning: types ([`types`], [`dtype`]),
//! the user graph ([`graph`]), ops and their kernels ([`ops`]), compiled
//! functions ([`function`]), rewrites ([`rewrite`]), execution ([`vm`]),
//! memory ([`memory`]) and printing ([`printing`]). The Python bindings live
//! in `python/` behind the `python` feature.

pub mod build;
pub mod config;
pub mod cuda;
pub mod dtype;
pub mod error;
pub mod function;
pub mod grad;
pub mod graph;
pub mod memory;
pub mod ops;
pub mod printing;
pub mod random;
pub mod rewrite;
pub mod rop;
pub mod scan;
pub mod types;
pub mod vm;
pub mod work_split;
pub mod workers;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
