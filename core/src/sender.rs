//! The sender a per-sender limit counts: the client's IPv4 address, or the
//! /64 network of its IPv6 address (one subscriber line usually gets a whole
//! /64, so counting single IPv6 addresses would give it 2^64 buckets).

use core::net::IpAddr;

use crate::ValidationError;

/// The bucket name of a client address (`cf-connecting-ip`): `v4:a.b.c.d` or
/// `v6:` + the first four hextets. IPv4-mapped IPv6 counts as IPv4.
pub fn bucket(address: &str) -> Result<String, ValidationError> {
    let ip: IpAddr = address
        .trim()
        .parse()
        .map_err(|_| ValidationError::InvalidSenderAddress)?;
    Ok(match ip {
        IpAddr::V4(v4) => format!("v4:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("v4:{v4}"),
            None => {
                let s = v6.segments();
                format!("v6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    })
}
