//! Hashes plugins share: sha256 and hmac-sha256 in lowercase hex, for redaction that
//! keeps values joinable (the same input always gives the same digest) and for the
//! `hash` action of the attributes processor.
//!
//! ```
//! use aegis_plugin_sdk::hash;
//!
//! assert_eq!(hash::sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
//! let key = hash::HmacSha256Key::new(b"Jefe");
//! assert_eq!(key.hex(b"what do ya want for nothing?"), hash::hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"));
//! ```

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The SHA-256 of `bytes`, as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The HMAC-SHA256 of `bytes` under `key`, as 64 lowercase hex digits.
///
/// Unlike a plain hash, a keyed hash cannot be reversed by hashing guesses (every email
/// address of a customer list, say) without the key. When hashing many values under the
/// same key, [`HmacSha256Key`] saves setting the key up each time.
pub fn hmac_sha256_hex(key: &[u8], bytes: &[u8]) -> String {
    HmacSha256Key::new(key).hex(bytes)
}

/// An HMAC-SHA256 key, set up once for hashing many values.
#[derive(Clone)]
pub struct HmacSha256Key {
    keyed: HmacSha256,
}

impl HmacSha256Key {
    /// Sets up `key`; keys of any length are accepted (longer than 64 bytes are hashed
    /// first, as RFC 2104 says).
    pub fn new(key: &[u8]) -> Self {
        // HMAC takes keys of every length: `new_from_slice` cannot fail for it.
        let keyed = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
        HmacSha256Key { keyed }
    }

    /// The HMAC-SHA256 of `bytes` under this key, as 64 lowercase hex digits.
    pub fn hex(&self, bytes: &[u8]) -> String {
        let mut mac = self.keyed.clone();
        mac.update(bytes);
        hex(&mac.finalize().into_bytes())
    }
}

/// Keeps the key out of debug output.
impl std::fmt::Debug for HmacSha256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha256Key(..)")
    }
}

/// Lowercase hex of `bytes`, e.g. a trace id as OTLP/JSON and Loki write it.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_180_test_vectors() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn hmac_sha256_matches_the_rfc_4231_test_vectors() {
        // Test case 1: a 20-byte key.
        assert_eq!(
            hmac_sha256_hex(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2: a key shorter than the output.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block, hashed first.
        assert_eq!(
            hmac_sha256_hex(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_prepared_key_gives_the_same_digests_as_the_one_shot_function() {
        let key = HmacSha256Key::new(b"Jefe");
        for input in [&b""[..], b"a", b"what do ya want for nothing?"] {
            assert_eq!(key.hex(input), hmac_sha256_hex(b"Jefe", input));
        }
        assert_ne!(key.hex(b"a"), sha256_hex(b"a"), "the key changes the digest");
        assert_eq!(format!("{key:?}"), "HmacSha256Key(..)");
    }
}
