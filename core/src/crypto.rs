//! P-256 ECDSA with SHA-256: public key parsing, the one signature encoding
//! (64-byte `r || s`, as WebCrypto produces), verify, and sign (for tests and
//! the software chip only).

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature as EcdsaSignature, SigningKey, VerifyingKey};
use subtle::ConstantTimeEq;

use crate::ValidationError;

/// Compares a presented secret with the expected one in constant time,
/// length included (both are hashed first).
pub fn secret_eq(presented: &[u8], expected: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(presented)
        .as_slice()
        .ct_eq(Sha256::digest(expected).as_slice())
        .into()
}

/// Length of a signature: `r || s`, 32 bytes each, big-endian.
pub const SIGNATURE_LEN: usize = 64;

/// A P-256 public key. Parsing refuses the identity, points off the curve and
/// any length other than 33 (compressed) or 65 (uncompressed) bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses a SEC1 encoding (`02|03 || x` or `04 || x || y`).
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, ValidationError> {
        if !matches!(bytes.len(), 33 | 65) {
            return Err(ValidationError::InvalidPublicKey);
        }
        if let Some(known) = decompressed::get(bytes) {
            return Ok(Self(known));
        }
        let key =
            VerifyingKey::from_sec1_bytes(bytes).map_err(|_| ValidationError::InvalidPublicKey)?;
        decompressed::keep(bytes, &key);
        Ok(Self(key))
    }

    /// The 33-byte compressed SEC1 encoding: the form used in transcripts.
    pub fn to_compressed(&self) -> Vec<u8> {
        self.0.to_sec1_point(true).as_bytes().to_vec()
    }

    /// The 65-byte uncompressed SEC1 encoding (`04 || x || y`).
    pub fn to_uncompressed(&self) -> Vec<u8> {
        self.0.to_sec1_point(false).as_bytes().to_vec()
    }

    /// Affine coordinates `(x, y)`, 32 bytes each, for JWK.
    // A 65-byte uncompressed SEC1 point: the constant ranges are in bounds.
    #[allow(clippy::indexing_slicing)]
    pub fn coordinates(&self) -> ([u8; 32], [u8; 32]) {
        let raw = self.to_uncompressed();
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        x.copy_from_slice(&raw[1..33]);
        y.copy_from_slice(&raw[33..65]);
        (x, y)
    }

    /// Verifies `signature` over `message` (ECDSA P-256, SHA-256 of `message`).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        self.0.verify(message, &signature.0).is_ok()
    }
}

/// An ECDSA signature in its only accepted encoding: 64 bytes `r || s`.
/// High-S values are accepted (WebCrypto emits both); replay is stopped by
/// challenges and counters, never by signature uniqueness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature(EcdsaSignature);

impl Signature {
    /// Parses `r || s`, refusing other lengths and `r` or `s` outside `1..n`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ValidationError> {
        if bytes.len() != SIGNATURE_LEN {
            return Err(ValidationError::InvalidSignatureEncoding);
        }
        EcdsaSignature::from_slice(bytes)
            .map(Self)
            .map_err(|_| ValidationError::InvalidSignatureEncoding)
    }

    /// The 64-byte `r || s` encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }
}

/// A P-256 private key. For tests, test vectors and the software chip; the
/// server uses it only to sign grants.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl core::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// A key from a 32-byte big-endian scalar in `1..n`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ValidationError> {
        if bytes.len() != 32 {
            return Err(ValidationError::InvalidSecretKey);
        }
        SigningKey::from_slice(bytes)
            .map(Self)
            .map_err(|_| ValidationError::InvalidSecretKey)
    }

    /// The 32-byte scalar.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// Signs `message` (SHA-256, deterministic nonce per RFC 6979).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message))
    }
}

/// What this thread's memo of compressed keys holds ([`key_memo_stats`]).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyMemoStats {
    /// Keys kept.
    pub kept: usize,
    /// Parses the memo answered.
    pub hits: u64,
}

/// How many compressed keys this thread's memo keeps and how many parses it
/// answered. For tests and benchmarks.
#[doc(hidden)]
pub fn key_memo_stats() -> KeyMemoStats {
    let (kept, hits) = decompressed::stats();
    KeyMemoStats { kept, hits }
}

/// Empties this thread's memo of compressed keys. For tests.
#[doc(hidden)]
pub fn forget_parsed_keys() {
    decompressed::forget();
}

/// The compressed keys parsed last, with their points. Decompressing is a
/// square root, a tenth of a verification's CPU in wasm, and a binding's
/// requests present and check the same key each time. A pure function's
/// memo: the same 33 bytes always give the same key, and only keys that
/// parsed are kept, so nothing is decided differently.
mod decompressed {
    use std::cell::RefCell;

    use p256::ecdsa::VerifyingKey;

    /// How many keys are kept (per thread; the worker's isolate has one):
    /// each lookup compares at most this many 33-byte strings.
    const KEPT: usize = 64;

    struct Memo {
        keys: Vec<([u8; 33], VerifyingKey)>,
        /// Where the next key goes once the memo is full.
        next: usize,
        /// Parses answered from the memo.
        hits: u64,
    }

    thread_local! {
        static MEMO: RefCell<Memo> = const { RefCell::new(Memo { keys: Vec::new(), next: 0, hits: 0 }) };
    }

    /// The key parsed earlier from these compressed bytes, if kept.
    pub fn get(bytes: &[u8]) -> Option<VerifyingKey> {
        let compressed: &[u8; 33] = bytes.try_into().ok()?;
        MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            let found = memo
                .keys
                .iter()
                .find(|(kept, _)| kept == compressed)
                .map(|(_, key)| *key);
            memo.hits += u64::from(found.is_some());
            found
        })
    }

    /// How many keys are kept, and how many parses the memo answered.
    pub fn stats() -> (usize, u64) {
        MEMO.with(|memo| {
            let memo = memo.borrow();
            (memo.keys.len(), memo.hits)
        })
    }

    /// Empties the memo (and its count).
    pub fn forget() {
        MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            memo.keys.clear();
            memo.next = 0;
            memo.hits = 0;
        });
    }

    /// Keeps a key parsed from compressed bytes (uncompressed ones cost no
    /// square root and are not kept).
    pub fn keep(bytes: &[u8], key: &VerifyingKey) {
        let Ok(compressed) = <[u8; 33]>::try_from(bytes) else {
            return;
        };
        MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            if memo.keys.len() < KEPT {
                memo.keys.push((compressed, *key));
            } else {
                let slot = memo.next % KEPT;
                if let Some(entry) = memo.keys.get_mut(slot) {
                    *entry = (compressed, *key);
                }
                memo.next = slot + 1;
            }
        });
    }
}
