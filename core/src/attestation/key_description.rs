//! Android's KeyDescription extension (OID 1.3.6.1.4.1.11129.2.1.17), read
//! leniently where real devices are sloppy: a BOOLEAN is true when its
//! content is non-zero (some devices encode `deviceLocked` as BER `0x01`),
//! unknown authorization tags are skipped, and the tags need not be sorted.

use der::asn1::AnyRef;
use der::{Decode, SliceReader, Tag, Tagged};

use super::AttestationRefusal;

/// Where a Keystore key lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecurityLevel {
    /// Android's software keystore: no hardware protection.
    Software,
    /// The Trusted Execution Environment.
    TrustedEnvironment,
    /// A discrete secure element (StrongBox).
    StrongBox,
}

impl SecurityLevel {
    /// Label used in configuration and verdicts.
    pub fn label(self) -> &'static str {
        match self {
            Self::Software => "software",
            Self::TrustedEnvironment => "tee",
            Self::StrongBox => "strongbox",
        }
    }

    /// Inverse of [`SecurityLevel::label`].
    pub fn from_label(label: &str) -> Option<Self> {
        [Self::Software, Self::TrustedEnvironment, Self::StrongBox]
            .into_iter()
            .find(|l| l.label() == label)
    }

    fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(Self::Software),
            1 => Some(Self::TrustedEnvironment),
            2 => Some(Self::StrongBox),
            _ => None,
        }
    }
}

/// The verified-boot state the bootloader reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootState {
    /// The system was verified against the OEM's key.
    Verified,
    /// The system was verified against a key the user installed.
    SelfSigned,
    /// The bootloader is unlocked and verification was skipped.
    Unverified,
    /// Verification failed.
    Failed,
}

impl BootState {
    /// Label used in verdicts.
    pub fn label(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::SelfSigned => "self_signed",
            Self::Unverified => "unverified",
            Self::Failed => "failed",
        }
    }

    fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(Self::Verified),
            1 => Some(Self::SelfSigned),
            2 => Some(Self::Unverified),
            3 => Some(Self::Failed),
            _ => None,
        }
    }
}

/// The device state at key generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootOfTrust {
    /// Whether the bootloader was locked.
    pub device_locked: bool,
    /// The verified-boot state.
    pub boot_state: BootState,
}

/// The app that generated the key, as Keystore saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplicationId {
    /// Package names sharing the app's uid.
    pub packages: Vec<String>,
    /// SHA-256 digests of the app's signing certificates.
    pub signatures: Vec<Vec<u8>>,
}

/// The parts of a KeyDescription a verifier decides on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDescription {
    /// Security level of the attestation itself.
    pub attestation_level: SecurityLevel,
    /// Security level of the key.
    pub key_level: SecurityLevel,
    /// The challenge the app passed when generating the key.
    pub challenge: Vec<u8>,
    /// Whether the hardware says it generated the key (tag 702, origin 0).
    pub generated: bool,
    /// The hardware-enforced root of trust, if any.
    pub root_of_trust: Option<RootOfTrust>,
    /// The attesting app, if recorded.
    pub application: Option<ApplicationId>,
}

const TAG_ORIGIN: u32 = 702;
const TAG_ROOT_OF_TRUST: u32 = 704;
const TAG_APPLICATION_ID: u32 = 709;
const ORIGIN_GENERATED: u64 = 0;

type Result<T> = core::result::Result<T, AttestationRefusal>;

const MALFORMED: AttestationRefusal = AttestationRefusal::Malformed;

impl KeyDescription {
    /// Parses the extension's value.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let outer = single(bytes, Tag::Sequence)?;
        let fields = items(outer)?;
        let [
            _version,
            attestation_level,
            _keymint_version,
            key_level,
            challenge,
            _unique_id,
            software,
            hardware,
            ..,
        ] = fields.as_slice()
        else {
            return Err(MALFORMED);
        };
        let level = |any: &AnyRef<'_>| {
            expect(any, Tag::Enumerated)
                .and_then(uint)
                .and_then(|c| SecurityLevel::from_code(c).ok_or(MALFORMED))
        };
        let software = AuthorizationList::parse(expect(software, Tag::Sequence)?)?;
        let hardware = AuthorizationList::parse(expect(hardware, Tag::Sequence)?)?;
        let origin = hardware.origin.or(software.origin);
        let application = software
            .application
            .or(hardware.application)
            .map(ApplicationId::parse)
            .transpose()?;
        Ok(Self {
            attestation_level: level(attestation_level)?,
            key_level: level(key_level)?,
            challenge: expect(challenge, Tag::OctetString)?.to_vec(),
            generated: origin == Some(ORIGIN_GENERATED),
            root_of_trust: hardware.root_of_trust.map(RootOfTrust::parse).transpose()?,
            application,
        })
    }
}

/// The tags of one AuthorizationList this verifier reads.
#[derive(Default)]
struct AuthorizationList<'a> {
    origin: Option<u64>,
    root_of_trust: Option<&'a [u8]>,
    application: Option<&'a [u8]>,
}

impl<'a> AuthorizationList<'a> {
    fn parse(content: &'a [u8]) -> Result<Self> {
        let mut list = Self::default();
        for item in items(content)? {
            let Tag::ContextSpecific {
                constructed: true,
                number,
            } = item.tag()
            else {
                return Err(MALFORMED);
            };
            let inner = |tag| single(item.value(), tag);
            match number.0 {
                TAG_ORIGIN => list.origin = Some(uint(inner(Tag::Integer)?)?),
                TAG_ROOT_OF_TRUST => list.root_of_trust = Some(inner(Tag::Sequence)?),
                TAG_APPLICATION_ID => list.application = Some(inner(Tag::OctetString)?),
                _ => {}
            }
        }
        Ok(list)
    }
}

impl RootOfTrust {
    fn parse(content: &[u8]) -> Result<Self> {
        let fields = items(content)?;
        let [_boot_key, locked, state, ..] = fields.as_slice() else {
            return Err(MALFORMED);
        };
        let locked = expect(locked, Tag::Boolean)?;
        if locked.len() != 1 {
            return Err(MALFORMED);
        }
        let state = uint(expect(state, Tag::Enumerated)?)?;
        Ok(Self {
            device_locked: locked.iter().any(|b| *b != 0),
            boot_state: BootState::from_code(state).ok_or(MALFORMED)?,
        })
    }
}

impl ApplicationId {
    fn parse(bytes: &[u8]) -> Result<Self> {
        let fields = items(single(bytes, Tag::Sequence)?)?;
        let [packages, signatures, ..] = fields.as_slice() else {
            return Err(MALFORMED);
        };
        let mut id = Self::default();
        for package in items(expect(packages, Tag::Set)?)? {
            let info = items(expect(&package, Tag::Sequence)?)?;
            let name = info.first().ok_or(MALFORMED)?;
            let name = expect(name, Tag::OctetString)?;
            id.packages
                .push(String::from_utf8(name.to_vec()).map_err(|_| MALFORMED)?);
        }
        for digest in items(expect(signatures, Tag::Set)?)? {
            id.signatures
                .push(expect(&digest, Tag::OctetString)?.to_vec());
        }
        Ok(id)
    }
}

/// The TLVs in `content`, in order.
fn items(content: &[u8]) -> Result<Vec<AnyRef<'_>>> {
    let mut reader = SliceReader::new(content).map_err(|_| MALFORMED)?;
    let mut out = Vec::new();
    while !der::Reader::is_finished(&reader) {
        out.push(AnyRef::decode(&mut reader).map_err(|_| MALFORMED)?);
    }
    Ok(out)
}

/// The content of the single TLV `bytes` holds, which must have `tag`.
fn single(bytes: &[u8], tag: Tag) -> Result<&[u8]> {
    match items(bytes)?.as_slice() {
        [only] => expect(only, tag),
        _ => Err(MALFORMED),
    }
}

fn expect<'a>(any: &AnyRef<'a>, tag: Tag) -> Result<&'a [u8]> {
    if any.tag() == tag {
        Ok(any.value())
    } else {
        Err(MALFORMED)
    }
}

/// A non-negative INTEGER or ENUMERATED content that fits in 64 bits.
fn uint(content: &[u8]) -> Result<u64> {
    let (first, _) = content.split_first().ok_or(MALFORMED)?;
    if first & 0x80 != 0 {
        return Err(MALFORMED);
    }
    // A leading zero only keeps the sign bit clear.
    let digits = content.strip_prefix(&[0]).unwrap_or(content);
    let mut buf = [0u8; 8];
    let start = buf.len().checked_sub(digits.len()).ok_or(MALFORMED)?;
    buf.get_mut(start..)
        .ok_or(MALFORMED)?
        .copy_from_slice(digits);
    Ok(u64::from_be_bytes(buf))
}
