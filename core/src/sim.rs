//! SIM identity v2: what the phone reports about the subscription that
//! carries the number, which of it a deployment requires, and how a bound SIM
//! is compared with the one presented (docs/PROTOCOL.md §3 and §5).
//!
//! Every field is optional on the wire, because what an app can read depends
//! on its privileges: an ordinary Android app reads the subscription id,
//! slot, card id, port, eSIM flag and operator codes; a carrier-privileged or
//! managed app also reads ICCID, IMSI and EID; iOS reads none of them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use subtle::{Choice, ConstantTimeEq};

use crate::Denial;
use crate::ValidationError;
use crate::api::SimInfo;
use crate::attestation::ChipFormat;
use crate::id_hash::{IdHash, IdHasher, IdKind};
use crate::identifiers::{Eid, Iccid, Imsi, NetworkCode, PhoneNumber};

/// Largest subscription or card id (Android's are Java `int`s).
pub const MAX_ID: u64 = i32::MAX as u64;
/// Largest slot or port index.
pub const MAX_INDEX: u64 = 15;

/// One field of the SIM block, in transcript order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimField {
    /// The SIM's own number (E.164), where the phone can read it.
    Msisdn,
    /// The card's ICCID (privileged).
    Iccid,
    /// The subscriber's IMSI (privileged).
    Imsi,
    /// The eUICC's EID (privileged, eSIM only).
    Eid,
    /// The phone's id for this subscription; a new SIM or eSIM profile gets a new one.
    SubscriptionId,
    /// The SIM slot the subscription is in.
    SlotIndex,
    /// The phone's id for the card (physical SIM or eUICC) holding it.
    CardId,
    /// The port of a multi-port eUICC (0 on single-port cards).
    PortIndex,
    /// Whether the subscription is an eSIM profile.
    Embedded,
    /// The operator's mobile country code.
    Mcc,
    /// The operator's mobile network code.
    Mnc,
}

impl SimField {
    /// Every field, in transcript order.
    pub const ALL: [SimField; 11] = [
        Self::Msisdn,
        Self::Iccid,
        Self::Imsi,
        Self::Eid,
        Self::SubscriptionId,
        Self::SlotIndex,
        Self::CardId,
        Self::PortIndex,
        Self::Embedded,
        Self::Mcc,
        Self::Mnc,
    ];

    /// The wire name (`subscription_id`, …), also the label of its keyed hash.
    pub fn label(self) -> &'static str {
        match self {
            Self::Msisdn => "msisdn",
            Self::Iccid => "iccid",
            Self::Imsi => "imsi",
            Self::Eid => "eid",
            Self::SubscriptionId => "subscription_id",
            Self::SlotIndex => "slot_index",
            Self::CardId => "card_id",
            Self::PortIndex => "port_index",
            Self::Embedded => "embedded",
            Self::Mcc => "mcc",
            Self::Mnc => "mnc",
        }
    }
}

/// The SIM identity a phone presented, validated. Absent fields are `None`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SimIdentity {
    /// The SIM's own number.
    pub msisdn: Option<PhoneNumber>,
    /// The card's ICCID.
    pub iccid: Option<Iccid>,
    /// The subscriber's IMSI.
    pub imsi: Option<Imsi>,
    /// The eUICC's EID.
    pub eid: Option<Eid>,
    /// The subscription id.
    pub subscription_id: Option<u32>,
    /// The slot index.
    pub slot_index: Option<u8>,
    /// The card id.
    pub card_id: Option<u32>,
    /// The port index.
    pub port_index: Option<u8>,
    /// The eSIM flag.
    pub embedded: Option<bool>,
    /// The operator's MCC and MNC.
    pub network: Option<NetworkCode>,
}

impl core::fmt::Debug for SimIdentity {
    /// Names the fields present, never their values.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let present: Vec<&str> = SimField::ALL
            .into_iter()
            .filter(|field| self.value(*field).is_some())
            .map(SimField::label)
            .collect();
        write!(f, "SimIdentity({})", present.join(", "))
    }
}

fn bounded<T: TryFrom<u64>>(
    value: Option<u64>,
    max: u64,
    field: &'static str,
) -> Result<Option<T>, ValidationError> {
    value
        .map(|v| {
            T::try_from(v)
                .ok()
                .filter(|_| v <= max)
                .ok_or(ValidationError::OutOfRange(field))
        })
        .transpose()
}

impl SimIdentity {
    /// Validates every field the bridge reported.
    pub fn parse(sim: &SimInfo) -> Result<Self, ValidationError> {
        let network = match (&sim.mcc, &sim.mnc) {
            (None, None) => None,
            (Some(mcc), Some(mnc)) => Some(NetworkCode::parse(mcc, mnc)?),
            _ => return Err(ValidationError::InvalidNetworkCode),
        };
        Ok(Self {
            msisdn: sim
                .msisdn
                .as_deref()
                .map(PhoneNumber::parse_e164)
                .transpose()?,
            iccid: sim.iccid.as_deref().map(Iccid::parse).transpose()?,
            imsi: sim.imsi.as_deref().map(Imsi::parse).transpose()?,
            eid: sim.eid.as_deref().map(Eid::parse).transpose()?,
            subscription_id: bounded(sim.subscription_id, MAX_ID, "sim.subscription_id")?,
            slot_index: bounded(sim.slot_index, MAX_INDEX, "sim.slot_index")?,
            card_id: bounded(sim.card_id, MAX_ID, "sim.card_id")?,
            port_index: bounded(sim.port_index, MAX_INDEX, "sim.port_index")?,
            embedded: sim.embedded,
            network,
        })
    }

    /// A field's canonical text, as the transcript carries it and its hash
    /// covers: digits as given, integers in decimal without leading zeros,
    /// `1`/`0` for the eSIM flag; `None` when absent.
    pub fn value(&self, field: SimField) -> Option<String> {
        let text = |s: &str| Some(s.to_owned());
        match field {
            SimField::Msisdn => text(self.msisdn.as_ref()?.as_str()),
            SimField::Iccid => text(self.iccid.as_ref()?.as_str()),
            SimField::Imsi => text(self.imsi.as_ref()?.as_str()),
            SimField::Eid => text(self.eid.as_ref()?.as_str()),
            SimField::SubscriptionId => Some(self.subscription_id?.to_string()),
            SimField::SlotIndex => Some(self.slot_index?.to_string()),
            SimField::CardId => Some(self.card_id?.to_string()),
            SimField::PortIndex => Some(self.port_index?.to_string()),
            SimField::Embedded => Some(if self.embedded? { "1" } else { "0" }.to_owned()),
            SimField::Mcc => text(self.network.as_ref()?.mcc()),
            SimField::Mnc => text(self.network.as_ref()?.mnc()),
        }
    }
}

/// Which SIM fields a deployment requires at bind and at every verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimLevel {
    /// `none`: nothing SIM-specific (iOS apps): the binding rests on the number
    /// proof, the chip and the carrier's signals.
    None,
    /// `device`: what an ordinary Android app reads with `READ_PHONE_STATE`.
    Device,
    /// `privileged`: ICCID and IMSI (carrier-privileged, managed and IoT apps).
    Privileged,
}

impl SimLevel {
    /// Every level.
    pub const ALL: [SimLevel; 3] = [Self::None, Self::Device, Self::Privileged];

    /// The configuration label.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Device => "device",
            Self::Privileged => "privileged",
        }
    }

    /// The fields this level requires. Card id and port index are not
    /// among them (some phones report no card id; the port needs Android
    /// 13): like every field, they are compared whenever bound.
    pub fn required(self) -> &'static [SimField] {
        match self {
            Self::None => &[],
            Self::Device => &[
                SimField::SubscriptionId,
                SimField::SlotIndex,
                SimField::Embedded,
                SimField::Mcc,
                SimField::Mnc,
            ],
            Self::Privileged => &[SimField::Iccid, SimField::Imsi],
        }
    }
}

/// The deployment's SIM level, with overrides per chip format
/// (`SIM_LEVEL="device,apple-appattest=none"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimPolicy {
    /// The level of every chip format not overridden.
    pub level: SimLevel,
    /// Per-format levels.
    pub overrides: Vec<(ChipFormat, SimLevel)>,
}

impl Default for SimPolicy {
    fn default() -> Self {
        Self {
            level: SimLevel::Device,
            overrides: Vec::new(),
        }
    }
}

impl SimPolicy {
    /// Reads `level[,format=level…]`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let level = |label: &str| {
            SimLevel::ALL
                .into_iter()
                .find(|l| l.label() == label.trim())
        };
        let mut parts = text.split(',');
        let mut policy = Self {
            level: level(parts.next()?)?,
            overrides: Vec::new(),
        };
        for part in parts {
            let (format, label) = part.split_once('=')?;
            let format = ChipFormat::parse(format.trim()).ok()?;
            if policy.overrides.iter().any(|(f, _)| *f == format) {
                return None;
            }
            policy.overrides.push((format, level(label)?));
        }
        Some(policy)
    }

    /// The level a chip of `format` is held to.
    pub fn level_for(&self, format: ChipFormat) -> SimLevel {
        self.overrides
            .iter()
            .find(|(f, _)| *f == format)
            .map_or(self.level, |(_, level)| *level)
    }
}

/// Keyed hashes of the SIM fields presented (kind = the field's label), the
/// only form in which a binding keeps them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimHashes(BTreeMap<SimField, IdHash>);

impl SimHashes {
    /// Hashes every field `sim` has.
    pub fn of(sim: &SimIdentity, hasher: &IdHasher) -> Self {
        // Inserted one by one, not collected: collecting into a map sorts
        // first, and that sort is a few KB of the worker's upload.
        let mut hashes = BTreeMap::new();
        for field in SimField::ALL {
            if let Some(value) = sim.value(field) {
                hashes.insert(field, hasher.hash(IdKind::Sim(field), &value));
            }
        }
        Self(hashes)
    }

    /// The hash of `field`, when it was presented.
    pub fn get(&self, field: SimField) -> Option<&IdHash> {
        self.0.get(&field)
    }

    /// Refuses a bind whose SIM lacks a field `level` requires.
    pub fn require(&self, level: SimLevel) -> Result<(), Denial> {
        if level.required().iter().all(|f| self.0.contains_key(f)) {
            Ok(())
        } else {
            Err(Denial::SimEvidenceRequired)
        }
    }

    /// Compares a presented SIM with this bound one: `sim_changed` when a
    /// field the binding has differs or is missing, or a field `level`
    /// requires is missing from either; then `number_changed` when the bound
    /// MSISDN differs or is missing. Hashes are compared in constant time,
    /// all of them whatever the first difference.
    pub fn compare(&self, presented: &SimHashes, level: SimLevel) -> Result<(), Denial> {
        let mut same = Choice::from(1);
        for field in SimField::ALL.into_iter().filter(|f| *f != SimField::Msisdn) {
            let required = level.required().contains(&field);
            same &= match (self.get(field), presented.get(field)) {
                (Some(bound), Some(now)) => {
                    bound.as_str().as_bytes().ct_eq(now.as_str().as_bytes())
                }
                (None, _) if !required => Choice::from(1),
                _ => Choice::from(0),
            };
        }
        if !bool::from(same) {
            return Err(Denial::SimChanged);
        }
        match (self.get(SimField::Msisdn), presented.get(SimField::Msisdn)) {
            (None, _) => Ok(()),
            (Some(bound), Some(now)) if bound.ct_eq(now) => Ok(()),
            _ => Err(Denial::NumberChanged),
        }
    }
}
