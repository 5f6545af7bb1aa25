//! The hook secret Okta presents (`API_KEY`), kept only as its SHA-256 digest and compared in
//! constant time (docs/contract.md §5).
//!
//! Accepted: the header value equal to `API_KEY`, or whose base64 decoding equals it (NL3's
//! documented setup stores base64(API_KEY) in Okta), each with an optional `Basic ` prefix
//! (Okta's Basic-auth guide). Every candidate is compared as a whole digest: digests have one
//! length, so neither the key's length nor the first differing byte leaks.
//!
//! A leaf: imports nothing from the crate.

use aws_lc_rs::digest::{digest, SHA256};
use base64::Engine;
use subtle::{Choice, ConstantTimeEq};

/// The expected hook secret, kept only as its digest.
#[derive(Clone)]
pub struct ApiKey {
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(..)")
    }
}

impl ApiKey {
    pub fn new(secret: &str) -> Self {
        Self {
            digest: sha256(secret.as_bytes()),
        }
    }

    /// Whether the presented header value carries this key in one of the accepted forms.
    pub fn matches(&self, presented: &[u8]) -> bool {
        self.matches_presented(&Presented::new(presented))
    }

    /// Compares every digest of `presented` with the key, all of them whatever the earlier ones
    /// gave, each as a whole 32-byte digest (`ct_eq` has no early exit).
    pub fn matches_presented(&self, presented: &Presented) -> bool {
        let mut accepted = Choice::from(0);
        for (digest, counts) in presented.forms() {
            accepted |= digest.ct_eq(&self.digest) & Choice::from(*counts);
        }
        accepted.into()
    }
}

/// A presented header value, as the digests of its accepted forms: computed once per call, so
/// the current and the previous key (during rotation) are compared without hashing it again.
/// How many digests there are depends only on the presented value, never on a key.
pub struct Presented {
    forms: [([u8; 32], u8); 4],
    len: usize,
}

impl Presented {
    pub fn new(presented: &[u8]) -> Self {
        let presented = presented.trim_ascii();
        let without_scheme = strip_basic(presented);
        // Without a `Basic ` prefix both forms are the same bytes: hashed once.
        let forms_to_hash: &[&[u8]] = if without_scheme.len() == presented.len() {
            &[presented]
        } else {
            &[presented, without_scheme]
        };
        let mut out = Self {
            forms: [([0; 32], 0); 4],
            len: 0,
        };
        for form in forms_to_hash {
            let decoded = decode_base64(form);
            // An undecodable form is still hashed (as empty) so the work depends only on the
            // length of what was presented, but its result only counts when the form decoded.
            let decodes = u8::from(decoded.is_some());
            for (candidate, counts) in [
                (*form, 1),
                (decoded.as_deref().unwrap_or_default(), decodes),
            ] {
                out.forms[out.len] = (sha256(candidate), counts);
                out.len += 1;
            }
        }
        out
    }

    fn forms(&self) -> &[([u8; 32], u8)] {
        &self.forms[..self.len]
    }
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Presented(..)")
    }
}

/// SHA-256 from aws-lc (already linked for the JWTs): its assembly is several times faster than
/// the portable code on CPUs without SHA instructions, and up to four digests run per call.
fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, data).as_ref());
    out
}

fn strip_basic(value: &[u8]) -> &[u8] {
    match value.get(..6) {
        Some(prefix) if prefix.eq_ignore_ascii_case(b"basic ") => value[6..].trim_ascii(),
        _ => value,
    }
}

/// Standard base64, padded or not (people paste either); URL-safe too (some tools emit it).
pub fn decode_base64(value: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    const KEY: &str = "s3cr3t-api-key";

    #[test]
    fn raw_value_is_accepted() {
        assert!(ApiKey::new(KEY).matches(KEY.as_bytes()));
    }

    #[test]
    fn base64_of_the_key_is_accepted_as_nl3_documents() {
        let encoded = STANDARD.encode(KEY);
        assert!(ApiKey::new(KEY).matches(encoded.as_bytes()));
        assert!(ApiKey::new(KEY).matches(encoded.trim_end_matches('=').as_bytes()));
    }

    #[test]
    fn basic_scheme_is_accepted() {
        let key = ApiKey::new("admin:supersecret");
        assert!(key.matches(b"Basic YWRtaW46c3VwZXJzZWNyZXQ="));
        assert!(key.matches(b"basic   YWRtaW46c3VwZXJzZWNyZXQ="));
        assert!(ApiKey::new(KEY).matches(format!("Basic {KEY}").as_bytes()));
    }

    #[test]
    fn wrong_values_are_refused() {
        let key = ApiKey::new(KEY);
        for wrong in [
            &b""[..],
            b"s3cr3t-api-kex",
            b"s3cr3t-api-key-and-more",
            b"Bearer s3cr3t-api-key",
            STANDARD.encode("other").as_bytes(),
            b"\xff\xfe",
        ] {
            assert!(!key.matches(wrong), "{wrong:?}");
        }
    }

    /// The comparison work (digests compared) depends only on what was presented, never on the
    /// key or on how much of it the presented value matches: no early exit.
    fn work(key: &ApiKey, presented: &[u8]) -> (bool, Vec<[u8; 32]>) {
        let presented = Presented::new(presented);
        let digests = presented.forms().iter().map(|(d, _)| *d).collect();
        (key.matches_presented(&presented), digests)
    }

    proptest::proptest! {
        #[test]
        fn comparison_work_is_independent_of_the_key(
            key in "[!-~]{1,64}",
            other in "[!-~]{1,64}",
            flip in 0usize..64,
        ) {
            let k = ApiKey::new(&key);
            // Presented values that match fully, differ at one byte (first, last, anywhere), or
            // are the key's base64: the same two digests are compared against either key.
            let mut near = key.clone().into_bytes();
            let at = flip % near.len();
            near[at] ^= 0x01;
            for presented in [key.as_bytes().to_vec(), near, STANDARD.encode(&key).into_bytes(), other.clone().into_bytes()] {
                let (_, with_key) = work(&k, &presented);
                let (_, with_other) = work(&ApiKey::new(&other), &presented);
                proptest::prop_assert_eq!(with_key.len(), 2);
                proptest::prop_assert_eq!(with_key, with_other);
            }
            proptest::prop_assert!(work(&k, key.as_bytes()).0);
            // With a `Basic ` prefix, the value with and without it: four digests.
            let basic = format!("Basic {key}");
            proptest::prop_assert_eq!(work(&k, basic.as_bytes()).1.len(), 4);
            proptest::prop_assert!(work(&k, basic.as_bytes()).0);
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        assert_eq!(format!("{:?}", ApiKey::new(KEY)), "ApiKey(..)");
    }
}
