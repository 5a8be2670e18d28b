//! The senders a per-sender limit counts. An IPv4 address is one sender. An
//! IPv6 address is counted at two prefixes: its /56 (what an ISP usually
//! hands one subscriber line, so a line's 256 /64s are one sender, like one
//! IPv4 address) and its /48 (one site), which gets a larger share: a single
//! /48 cannot pose as 65,536 senders.

use core::net::{IpAddr, Ipv6Addr};

use crate::ValidationError;

/// How many times the per-sender limit a /48 bucket holds.
pub const SITE_SHARE: u32 = 4;

/// One bucket a sender is counted in: its name, and how many times the
/// per-sender limit it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderBucket {
    /// `v4:a.b.c.d`, `v6:<prefix>::/56` or `v6:<prefix>::/48`.
    pub name: String,
    /// The multiple of the per-sender limit this bucket holds.
    pub share: u32,
}

fn parse(address: &str) -> Result<IpAddr, ValidationError> {
    let ip: IpAddr = address
        .trim()
        .parse()
        .map_err(|_| ValidationError::InvalidSenderAddress)?;
    // IPv4-mapped IPv6 counts as IPv4.
    Ok(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

fn v6_prefix(v6: &Ipv6Addr, bits: u32) -> String {
    let masked = u128::from(*v6) & (u128::MAX << (128 - bits));
    format!("v6:{}/{bits}", Ipv6Addr::from(masked))
}

/// The finest bucket of a client address (`cf-connecting-ip`): the IPv4
/// address, or the IPv6 /56.
pub fn bucket(address: &str) -> Result<String, ValidationError> {
    Ok(match parse(address)? {
        IpAddr::V4(v4) => format!("v4:{v4}"),
        IpAddr::V6(v6) => v6_prefix(&v6, 56),
    })
}

/// Every bucket a client address is counted in, finest first: the IPv4
/// address, or the IPv6 /56 (share 1) and /48 (share [`SITE_SHARE`]).
pub fn buckets(address: &str) -> Result<Vec<SenderBucket>, ValidationError> {
    Ok(match parse(address)? {
        IpAddr::V4(v4) => vec![SenderBucket {
            name: format!("v4:{v4}"),
            share: 1,
        }],
        IpAddr::V6(v6) => vec![
            SenderBucket {
                name: v6_prefix(&v6, 56),
                share: 1,
            },
            SenderBucket {
                name: v6_prefix(&v6, 48),
                share: SITE_SHARE,
            },
        ],
    })
}
