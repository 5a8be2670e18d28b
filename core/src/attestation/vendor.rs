//! Chip vendor certificates: a vendor root's P-256 signature over what it
//! vouches for, with a date after which it no longer does:
//!
//! ```text
//! field("SIMBIND-CHIP-CERT") || field(chip format) || field(vendor id)
//! || u64be(not_after) || field(serial) || field(compressed public key)
//! ```
//!
//! A deployment that configures roots refuses chips without a valid,
//! unexpired one; a deny-list ([`RevokedChips`]) refuses chips it no longer
//! trusts, certified or not.

use crate::Denial;
use crate::codec::{b64, put_field};
use crate::crypto::{PublicKey, SecretKey, Signature};
use crate::id_hash::IdHash;
use crate::identifiers::ChipSerial;

/// Domain label of the certified message.
pub const DOMAIN: &[u8] = b"SIMBIND-CHIP-CERT";

/// A vendor's statement that `serial` owns `public_key`, in `format`, until
/// `not_after`.
#[derive(Clone, Debug)]
pub struct VendorCertificate {
    /// Which vendor root signed.
    pub vendor: String,
    /// Unix seconds from which the certificate is refused.
    pub not_after: u64,
    /// The root's signature over [`certified_message`].
    pub signature: Signature,
}

/// What a chip's certificate speaks for.
#[derive(Clone, Copy, Debug)]
pub struct Certified<'a> {
    /// The chip format label (`simbind-p256`).
    pub format: &'a str,
    /// The chip serial.
    pub serial: &'a ChipSerial,
    /// The chip key.
    pub public_key: &'a PublicKey,
}

/// The bytes a vendor root signs.
pub fn certified_message(chip: Certified<'_>, vendor: &str, not_after: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    put_field(&mut out, DOMAIN);
    put_field(&mut out, chip.format.as_bytes());
    put_field(&mut out, vendor.as_bytes());
    out.extend_from_slice(&not_after.to_be_bytes());
    put_field(&mut out, chip.serial.as_str().as_bytes());
    put_field(&mut out, &chip.public_key.to_compressed());
    out
}

/// Issues a certificate (vendor tooling, tests and the demo's fake vendor).
pub fn certify(
    chip: Certified<'_>,
    vendor: &str,
    root: &SecretKey,
    not_after: u64,
) -> VendorCertificate {
    VendorCertificate {
        vendor: vendor.to_owned(),
        not_after,
        signature: root.sign(&certified_message(chip, vendor, not_after)),
    }
}

/// Trusted vendor roots. Empty means certificates are not required (and a
/// certificate sent anyway is ignored).
#[derive(Clone, Debug, Default)]
pub struct VendorRoots(pub Vec<(String, PublicKey)>);

impl VendorRoots {
    /// Enforces the policy: with roots configured, a certificate from one of
    /// them must verify over this chip, and not have expired at `now`.
    pub fn check(
        &self,
        chip: Certified<'_>,
        certificate: Option<&VendorCertificate>,
        now: u64,
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
        let message = certified_message(chip, &cert.vendor, cert.not_after);
        if !root.verify(&message, &cert.signature) {
            return Err(Denial::ChipCertificateInvalid);
        }
        if now >= cert.not_after {
            return Err(Denial::ChipCertificateExpired);
        }
        Ok(())
    }
}

/// Chips a deployment no longer trusts: by the keyed hash of their serial,
/// or by their key (compressed SEC1, base64url).
#[derive(Clone, Debug, Default)]
pub struct RevokedChips {
    /// Keyed hashes of revoked serials.
    pub serials: Vec<IdHash>,
    /// Revoked keys, compressed SEC1, base64url.
    pub keys: Vec<String>,
}

impl RevokedChips {
    /// Whether the chip with this serial hash and key is revoked.
    pub fn contains(&self, serial: &IdHash, public_key_b64: &str) -> bool {
        self.serials.iter().any(|s| s.ct_eq(serial))
            || self.keys.iter().any(|k| k == public_key_b64)
    }

    /// A key as this list keeps it.
    pub fn key_form(key: &PublicKey) -> String {
        b64(&key.to_compressed())
    }
}
