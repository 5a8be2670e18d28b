//! Validated identifiers read from the phone: E.164 numbers, ICCID, IMSI, EID,
//! operator codes, chip serial, and the opaque ids the service hands out. `Debug` never prints
//! subscriber identifiers in clear.

use core::fmt;

use crate::ValidationError;
use crate::number_lengths::MOBILE_LENGTHS;

macro_rules! redacted_debug {
    ($t:ty) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($t), "(<redacted>)"))
            }
        }
    };
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A mobile phone number in E.164 form: `+`, a country calling code that has
/// mobile numbers, then a national number of a length mobile numbers under
/// that code may have (libphonenumber's table, `number_lengths.rs`).
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    text: String,
    code_len: usize,
}
redacted_debug!(PhoneNumber);

impl PhoneNumber {
    /// Validates an E.164 mobile number: what a user registers. No spaces,
    /// dashes or national formats.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let (digits, code) = e164(s)?;
        let (code_len, lengths) = code.ok_or(ValidationError::InvalidPhoneNumber)?;
        // At most 15 digits, so the shift stays inside the 16 bits.
        let national = digits.len() - code_len;
        if (lengths >> national) & 1 == 1 {
            Ok(Self {
                text: s.to_owned(),
                code_len,
            })
        } else {
            Err(ValidationError::InvalidPhoneNumber)
        }
    }

    /// Validates the E.164 form only (`+`, 7 to 15 digits, the first not
    /// `0`), for numbers no user typed: the deployment's inbound number, a
    /// SIM's own `msisdn`, an SMS provider's sender, and numbers sealed
    /// before [`PhoneNumber::parse`] checked lengths.
    pub fn parse_e164(s: &str) -> Result<Self, ValidationError> {
        let (digits, code) = e164(s)?;
        if digits.len() < 7 {
            return Err(ValidationError::InvalidPhoneNumber);
        }
        // Codes absent from the table (no mobiles, or unassigned) have three digits.
        let code_len = code.map_or(3, |(len, _)| len);
        Ok(Self {
            text: s.to_owned(),
            code_len,
        })
    }

    /// The number as typed, including the `+`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The ITU-T E.164 country calling code (`"44"`, `"1"`, `"358"`).
    pub fn country_code(&self) -> &str {
        self.text.get(1..=self.code_len).unwrap_or_default()
    }
}

/// A calling code's length in digits, and its mobile lengths (bit `n`: `n` national digits).
type CodeLengths = (usize, u16);

/// The digits of `+` and 1 to 15 digits (the first not `0`), and the calling
/// code with its mobile lengths when the table lists it.
fn e164(s: &str) -> Result<(&str, Option<CodeLengths>), ValidationError> {
    let digits = s
        .strip_prefix('+')
        .filter(|d| all_digits(d) && d.len() <= 15 && !d.starts_with('0'))
        .ok_or(ValidationError::InvalidPhoneNumber)?;
    // Calling codes are prefix-free: at most one of the three matches.
    let code = (1..=3).find_map(|len| {
        let code = digits.get(..len)?.parse::<u16>().ok()?;
        let at = MOBILE_LENGTHS
            .binary_search_by_key(&code, |row| row.0)
            .ok()?;
        Some((len, MOBILE_LENGTHS.get(at)?.1))
    });
    Ok((digits, code))
}

/// Luhn (mod 10) check over a string of ASCII digits, check digit last.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// A SIM card's ICCID (ITU-T E.118): 18–20 digits, industry prefix `89`,
/// last digit a Luhn check digit.
#[derive(Clone, PartialEq, Eq)]
pub struct Iccid(String);
redacted_debug!(Iccid);

impl Iccid {
    /// Validates length, prefix and Luhn check digit.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if !all_digits(s) || !(18..=20).contains(&s.len()) || !s.starts_with("89") {
            return Err(ValidationError::InvalidIccid);
        }
        if !luhn_valid(s) {
            return Err(ValidationError::IccidChecksum);
        }
        Ok(Self(s.to_owned()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A subscriber identity (IMSI, ITU-T E.212): 6–15 digits, starting with a
/// 3-digit mobile country code in the assigned ranges 2xx–7xx, or the test
/// network code 001. The MNC's length (2 or 3) is not knowable without the
/// operator table, so only the MCC is exposed.
#[derive(Clone, PartialEq, Eq)]
pub struct Imsi(String);
redacted_debug!(Imsi);

impl Imsi {
    /// Validates digits, length and the mobile country code range.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let mcc_ok = s.starts_with("001") || matches!(s.as_bytes().first(), Some(b'2'..=b'7'));
        if all_digits(s) && (6..=15).contains(&s.len()) && mcc_ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::InvalidImsi)
        }
    }

    /// The mobile country code (first three digits).
    pub fn mcc(&self) -> &str {
        &self.0[..3]
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An eUICC's identifier (EID, GSMA SGP.29): 32 digits starting `89`, whose
/// last two digits are check digits: the whole number is 1 mod 97
/// (ISO 7064 MOD 97-10, as in an IBAN).
#[derive(Clone, PartialEq, Eq)]
pub struct Eid(String);
redacted_debug!(Eid);

impl Eid {
    /// Validates length, prefix and the mod-97 check digits.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if !all_digits(s) || s.len() != 32 || !s.starts_with("89") {
            return Err(ValidationError::InvalidEid);
        }
        let remainder = s
            .bytes()
            .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
        if remainder != 1 {
            return Err(ValidationError::EidChecksum);
        }
        Ok(Self(s.to_owned()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The operator a subscription belongs to (ITU-T E.212): a 3-digit mobile
/// country code (2xx–7xx, or `001` for test networks) and a 2- or 3-digit
/// mobile network code. The two come together or not at all; leading zeros
/// count (`01` and `001` are different networks).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NetworkCode {
    mcc: String,
    mnc: String,
}

impl NetworkCode {
    /// Validates an MCC and MNC pair.
    pub fn parse(mcc: &str, mnc: &str) -> Result<Self, ValidationError> {
        let mcc_ok = all_digits(mcc)
            && mcc.len() == 3
            && (mcc == "001" || matches!(mcc.as_bytes().first(), Some(b'2'..=b'7')));
        if mcc_ok && all_digits(mnc) && (2..=3).contains(&mnc.len()) {
            Ok(Self {
                mcc: mcc.to_owned(),
                mnc: mnc.to_owned(),
            })
        } else {
            Err(ValidationError::InvalidNetworkCode)
        }
    }

    /// The mobile country code.
    pub fn mcc(&self) -> &str {
        &self.mcc
    }

    /// The mobile network code.
    pub fn mnc(&self) -> &str {
        &self.mnc
    }
}

/// The secure chip's serial number: 4–64 characters of `[A-Za-z0-9_.:-]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ChipSerial(String);
redacted_debug!(ChipSerial);

impl ChipSerial {
    /// Validates the serial's length and alphabet.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let ok = (4..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::InvalidChipSerial)
        }
    }

    /// The serial.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An opaque id handed out by the service: a prefix (`reg_`, `bnd_`) and 22
/// base64url characters (16 random bytes).
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct OpaqueId(String);

/// Prefix of registration ids.
pub const REGISTRATION_PREFIX: &str = "reg_";
/// Prefix of binding ids.
pub const BINDING_PREFIX: &str = "bnd_";

impl OpaqueId {
    /// Makes an id from 16 random bytes.
    pub fn new(prefix: &'static str, random: [u8; 16]) -> Self {
        Self(format!("{prefix}{}", crate::codec::b64(&random)))
    }

    /// Validates an id received from a client.
    pub fn parse(s: &str, prefix: &'static str) -> Result<Self, ValidationError> {
        let body = s
            .strip_prefix(prefix)
            .ok_or(ValidationError::InvalidId(prefix))?;
        // Canonical unpadded base64url of exactly 16 bytes is 22 characters.
        let ok = body.len() == 22 && crate::codec::unb64(body, "id").is_ok();
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::InvalidId(prefix))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
