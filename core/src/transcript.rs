//! The canonical transcript a chip (and optionally the SIM) signs.
//!
//! Byte layout (docs/PROTOCOL.md §3): every variable field is length-prefixed
//! with a u32 big-endian length; integers are fixed-width big-endian. No JSON
//! is ever signed.
//!
//! ```text
//! field("SIMBIND-TRANSCRIPT") || u16be(version = 2)
//! || field(ceremony) || field(challenge) || field(audience) || field(subject)
//! || field(transaction)
//! || field(chip serial or key id) || field(chip public key, SEC1 compressed,
//!    or empty for real formats)
//! || field(SIM block: field(value) for each SimField in order, empty when absent)
//! || field(SIM public key, SEC1 compressed, or empty) || u64be(counter)
//! ```

use crate::codec::{Reader, put_field};
use crate::crypto::PublicKey;
use crate::identifiers::ChipSerial;
use crate::sim::{SimField, SimIdentity};

/// Domain label: the first field of every transcript.
pub const DOMAIN: &[u8] = b"SIMBIND-TRANSCRIPT";
/// Transcript layout version.
pub const VERSION: u16 = 2;

/// The ceremony a signature is for. A signature made for one never verifies
/// for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ceremony {
    /// `bind` (challenge code 1): binding a number to a chip, after the one-time code.
    Bind,
    /// `verify` (code 2): the bound chip proving the binding, for a grant.
    Verify,
    /// `unbind` (code 3): the bound chip ending its binding.
    Unbind,
}

impl Ceremony {
    /// The label written into transcripts and challenges.
    pub fn label(self) -> &'static str {
        match self {
            Self::Bind => "bind",
            Self::Verify => "verify",
            Self::Unbind => "unbind",
        }
    }

    /// The one-byte code used inside challenges.
    pub fn code(self) -> u8 {
        match self {
            Self::Bind => 1,
            Self::Verify => 2,
            Self::Unbind => 3,
        }
    }

    /// Inverse of [`Ceremony::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Bind),
            2 => Some(Self::Verify),
            3 => Some(Self::Unbind),
            _ => None,
        }
    }

    /// Inverse of [`Ceremony::label`].
    pub fn from_label(label: &str) -> Option<Self> {
        [Self::Bind, Self::Verify, Self::Unbind]
            .into_iter()
            .find(|c| c.label() == label)
    }
}

/// What goes into a transcript, borrowed from validated inputs.
#[derive(Clone, Copy, Debug)]
pub struct Transcript<'a> {
    /// The ceremony, written as its label.
    pub ceremony: Ceremony,
    /// The raw challenge bytes (not its base64url text).
    pub challenge: &'a [u8],
    /// Who the signature is for: the deployment's configured audience.
    pub audience: &'a str,
    /// Registration id (bind) or binding id (verify, unbind).
    pub subject: &'a str,
    /// The relying party's transaction value the challenge was issued for
    /// (empty for none).
    pub transaction: &'a [u8],
    /// The chip serial, or a real-format chip's key id.
    pub chip_serial: &'a ChipSerial,
    /// `simbind-p256`'s key; `None` (an empty field) for real formats, whose
    /// key the app may not even see (App Attest).
    pub chip_public_key: Option<&'a PublicKey>,
    /// The SIM identity, written as one nested field of every
    /// [`SimField`] in order (empty when absent).
    pub sim: &'a SimIdentity,
    /// The SIM applet's key, written compressed; `None` (an empty field)
    /// when the SIM has none.
    pub sim_public_key: Option<&'a PublicKey>,
    /// The chip's monotonic counter.
    pub counter: u64,
}

impl Transcript<'_> {
    /// The exact bytes to sign.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        put_field(&mut out, DOMAIN);
        out.extend_from_slice(&VERSION.to_be_bytes());
        put_field(&mut out, self.ceremony.label().as_bytes());
        put_field(&mut out, self.challenge);
        put_field(&mut out, self.audience.as_bytes());
        put_field(&mut out, self.subject.as_bytes());
        put_field(&mut out, self.transaction);
        put_field(&mut out, self.chip_serial.as_str().as_bytes());
        let chip_key = self.chip_public_key.map(PublicKey::to_compressed);
        put_field(&mut out, chip_key.as_deref().unwrap_or_default());
        put_field(&mut out, &sim_block(self.sim));
        let sim_key = self.sim_public_key.map(PublicKey::to_compressed);
        put_field(&mut out, sim_key.as_deref().unwrap_or_default());
        out.extend_from_slice(&self.counter.to_be_bytes());
        out
    }
}

/// The SIM block: `field(value)` for each [`SimField`] in order, an empty
/// field for each absent one.
pub fn sim_block(sim: &SimIdentity) -> Vec<u8> {
    let mut block = Vec::with_capacity(128);
    for field in SimField::ALL {
        put_field(&mut block, sim.value(field).unwrap_or_default().as_bytes());
    }
    block
}

/// A transcript read back into its raw fields (for tests and audit tooling).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedTranscript {
    /// The layout version, as read (the current [`VERSION`] is 2).
    pub version: u16,
    /// The ceremony label, as written (not checked against the known ones).
    pub ceremony: String,
    /// The raw challenge bytes.
    pub challenge: Vec<u8>,
    /// The deployment audience the signature is for.
    pub audience: String,
    /// Registration id (bind) or binding id (verify, unbind).
    pub subject: String,
    /// The transaction value (empty for none).
    pub transaction: Vec<u8>,
    /// The chip serial, or a real-format chip's key id.
    pub chip_serial: String,
    /// The chip key field's raw bytes: compressed SEC1 when encoded by
    /// [`Transcript::encode`], empty for real formats.
    pub chip_public_key: Vec<u8>,
    /// The SIM block's values, one per [`SimField`] in order (empty when
    /// absent).
    pub sim: Vec<String>,
    /// The SIM key field's raw bytes: compressed SEC1, or empty when the SIM
    /// has no key.
    pub sim_public_key: Vec<u8>,
    /// The chip counter (the last 8 bytes, big-endian).
    pub counter: u64,
}

/// Parses transcript bytes, refusing a wrong domain, truncation and trailing
/// bytes. Field contents are returned raw, not re-validated.
pub fn decode(bytes: &[u8]) -> Option<DecodedTranscript> {
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    let mut r = Reader::new(bytes);
    if r.field()? != DOMAIN {
        return None;
    }
    let version = u16::from_be_bytes(r.take(2)?.try_into().ok()?);
    let ceremony = text(r.field()?)?;
    let challenge = r.field()?.to_vec();
    let audience = text(r.field()?)?;
    let subject = text(r.field()?)?;
    let transaction = r.field()?.to_vec();
    let chip_serial = text(r.field()?)?;
    let chip_public_key = r.field()?.to_vec();
    let mut block = Reader::new(r.field()?);
    let sim = SimField::ALL
        .iter()
        .map(|_| text(block.field()?))
        .collect::<Option<Vec<_>>>()?;
    if !block.is_empty() {
        return None;
    }
    let sim_public_key = r.field()?.to_vec();
    let counter = r.u64()?;
    if !r.is_empty() {
        return None;
    }
    Some(DecodedTranscript {
        version,
        ceremony,
        challenge,
        audience,
        subject,
        transaction,
        chip_serial,
        chip_public_key,
        sim,
        sim_public_key,
        counter,
    })
}
