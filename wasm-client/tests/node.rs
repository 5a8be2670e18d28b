//! The evidence and vector suite, in Node.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
include!("suite/evidence.rs");
