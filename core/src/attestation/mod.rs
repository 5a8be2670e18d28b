//! Chip and SIM attestations.
//!
//! A chip attestation has a *format*. Version 1 knows one,
//! [`ChipFormat::SimbindP256`]: the chip's raw P-256 key signs the transcript.
//! Android Key Attestation or Apple App Attest would be new modules beside
//! [`simbind_p256`], selected by a new [`ChipFormat`] variant.

pub mod android_key;
pub mod apple_appattest;
pub mod key_description;
pub mod refusal;
pub mod simbind_p256;
pub mod status_list;
pub mod vendor;
pub mod x509;

pub use refusal::AttestationRefusal;

use crate::ValidationError;
use crate::crypto::{PublicKey, Signature};
use crate::identifiers::ChipSerial;
use vendor::VendorCertificate;

/// Chip attestation formats this build understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChipFormat {
    /// Raw P-256 key in the secure chip, ECDSA over the transcript.
    SimbindP256,
}

impl ChipFormat {
    /// The wire label.
    pub fn label(self) -> &'static str {
        match self {
            Self::SimbindP256 => "simbind-p256",
        }
    }

    /// Parses the wire label.
    pub fn parse(label: &str) -> Result<Self, ValidationError> {
        match label {
            "simbind-p256" => Ok(Self::SimbindP256),
            other => Err(ValidationError::UnsupportedFormat(
                other.chars().take(32).collect(),
            )),
        }
    }
}

/// What the chip says about itself, validated.
#[derive(Clone, Debug)]
pub struct ChipIdentity {
    pub format: ChipFormat,
    pub serial: ChipSerial,
    pub public_key: PublicKey,
    pub certificate: Option<VendorCertificate>,
}

impl ChipIdentity {
    /// Checks the chip's signature over `transcript` in this chip's format.
    pub fn verify(&self, transcript: &[u8], signature: &Signature) -> bool {
        match self.format {
            ChipFormat::SimbindP256 => {
                simbind_p256::verify(&self.public_key, transcript, signature)
            }
        }
    }
}
