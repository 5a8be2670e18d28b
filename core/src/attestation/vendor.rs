//! Chip vendor certificates: a vendor root's P-256 signature over the chip's
//! serial and public key,
//! `field("SIMBIND-CHIP-CERT") || field(serial) || field(compressed public key)`.
//! A deployment that configures roots refuses chips without a valid one.

use crate::Denial;
use crate::codec::put_field;
use crate::crypto::{PublicKey, SecretKey, Signature};
use crate::identifiers::ChipSerial;

/// Domain label of the certified message.
pub const DOMAIN: &[u8] = b"SIMBIND-CHIP-CERT";

/// A vendor's statement that `serial` owns `public_key`.
#[derive(Clone, Debug)]
pub struct VendorCertificate {
    /// Which vendor root signed.
    pub vendor: String,
    pub signature: Signature,
}

/// The bytes a vendor root signs.
pub fn certified_message(serial: &ChipSerial, public_key: &PublicKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    put_field(&mut out, DOMAIN);
    put_field(&mut out, serial.as_str().as_bytes());
    put_field(&mut out, &public_key.to_compressed());
    out
}

/// Issues a certificate (vendor tooling, tests and the demo's fake vendor).
pub fn certify(
    vendor: &str,
    root: &SecretKey,
    serial: &ChipSerial,
    public_key: &PublicKey,
) -> VendorCertificate {
    VendorCertificate {
        vendor: vendor.to_owned(),
        signature: root.sign(&certified_message(serial, public_key)),
    }
}

/// Trusted vendor roots. Empty means certificates are not required.
#[derive(Clone, Debug, Default)]
pub struct VendorRoots(pub Vec<(String, PublicKey)>);

impl VendorRoots {
    /// Enforces the policy: with roots configured, a certificate from one of
    /// them must verify over this chip's serial and key.
    pub fn check(
        &self,
        serial: &ChipSerial,
        public_key: &PublicKey,
        certificate: Option<&VendorCertificate>,
    ) -> Result<(), Denial> {
        if self.0.is_empty() {
            return Ok(());
        }
        let cert = certificate.ok_or(Denial::ChipCertificateRequired)?;
        let root = self
            .0
            .iter()
            .find(|(name, _)| *name == cert.vendor)
            .map(|(_, key)| key)
            .ok_or(Denial::ChipCertificateInvalid)?;
        if root.verify(&certified_message(serial, public_key), &cert.signature) {
            Ok(())
        } else {
            Err(Denial::ChipCertificateInvalid)
        }
    }
}
