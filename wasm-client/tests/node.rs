//! The adapter and vector suite, in Node.
include!("suite/adapters.rs");
