//! SimBind protocol core: identifiers, canonical transcripts, P-256, stateless
//! challenges, grants, keyed identifier hashes and the binding decisions.
//!
//! Everything here is pure: time and randomness come in as arguments, nothing
//! does I/O. The edge worker and the wasm client both compile this crate, so a
//! transcript or a decision has exactly one implementation.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod attestation;
pub mod binding;
#[cfg(feature = "x509-software")]
pub mod body_checks;
pub mod budget;
pub mod camara_nv;
pub mod carrier;
pub mod challenge;
pub mod codec;
pub mod contact;
pub mod crypto;
pub mod decision;
pub mod device_sms;
pub mod error;
pub mod firebase_pnv;
pub mod grant;
pub mod id_hash;
pub mod identifiers;
#[cfg(feature = "x509-software")]
pub mod inspect;
pub mod jws;
mod number_lengths;
pub mod otp;
pub mod proof;
pub mod registration_id;
pub mod seal;
pub mod security_event;
pub mod sender;
pub mod sim;
pub mod subscription;
pub mod trace;
pub mod transcript;

pub use error::{Denial, ValidationError};
