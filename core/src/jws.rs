//! Compact JWS (RFC 7515) reading, shared by the grants SimBind signs and
//! the Firebase PNV tokens it verifies: three base64url parts, the first two
//! JSON, the signature over `header "." payload` as the token spells them.

use crate::codec::unb64;

/// A compact JWS split into its parts; nothing in it is verified yet.
pub struct Compact<'a> {
    /// The decoded protected header (JSON).
    pub header: Vec<u8>,
    /// The decoded payload (JSON claims).
    pub payload: Vec<u8>,
    /// The decoded signature (64-byte `r || s` for ES256).
    pub signature: Vec<u8>,
    /// The bytes the signature covers: the token's first two parts and the dot.
    pub signing_input: &'a [u8],
}

/// Splits `token` into exactly three canonical base64url parts; `None` for
/// anything else (a fourth part, padding, an empty header or payload).
pub fn split(token: &str) -> Option<Compact<'_>> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let header = unb64(h, "header").ok().filter(|b| !b.is_empty())?;
    let payload = unb64(p, "payload").ok().filter(|b| !b.is_empty())?;
    let signature = unb64(s, "signature").ok()?;
    Some(Compact {
        header,
        payload,
        signature,
        signing_input: token.as_bytes().get(..h.len() + 1 + p.len())?,
    })
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn three_parts_only() {
        // {"a":1} . {"b":2} . 0x01 0x02
        let token = "eyJhIjoxfQ.eyJiIjoyfQ.AQI";
        let parts = split(token).map(|p| (p.header, p.payload, p.signature, p.signing_input));
        let expected = (
            br#"{"a":1}"#.to_vec(),
            br#"{"b":2}"#.to_vec(),
            vec![1, 2],
            &b"eyJhIjoxfQ.eyJiIjoyfQ"[..],
        );
        assert_eq!(parts, Some(expected));
        for bad in [
            "eyJhIjoxfQ.eyJiIjoyfQ",
            "eyJhIjoxfQ.eyJiIjoyfQ.AQI.AQI",
            ".eyJiIjoyfQ.AQI",
            "eyJhIjoxfQ..AQI",
            "eyJhIjoxfQ=.eyJiIjoyfQ.AQI",
            "eyJhIjoxfQ.eyJiIjoyfQ.A+I",
        ] {
            assert!(split(bad).is_none(), "{bad}");
        }
    }
}
