//! The HS256 JWT the hook signs for NL3 (`x-nl3-authorization-token`).
//!
//! Signed here with a prepared aws-lc HMAC key rather than with `jsonwebtoken::encode`, which
//! re-derives the HMAC key (two SHA-256 blocks), boxes a signer and re-serialises the constant
//! header on every call: about 15 k instructions of a warm call. The token is the same bytes
//! (`{"typ":"JWT","alg":"HS256"}`, base64url without padding); the tests verify it with
//! `jsonwebtoken::decode`, as NL3 would.
//!
//! A leaf: imports nothing from the crate.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

/// base64url(`{"typ":"JWT","alg":"HS256"}`), the header `jsonwebtoken`'s `Header::default()`
/// writes.
const HEADER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9";

/// An HS256 signing key, prepared once when the secret is read.
#[derive(Clone)]
pub struct SigningKey(hmac::Key);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    pub fn from_secret(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// `header.claims.signature`, each part base64url without padding.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, serde_json::Error> {
        Ok(self.sign_json(&serde_json::to_vec(claims)?))
    }

    /// [`sign`](Self::sign) for claims already written as JSON text.
    pub fn sign_json(&self, claims: &[u8]) -> String {
        let mut token = String::with_capacity(HEADER.len() + 2 + claims.len() * 4 / 3 + 48);
        token.push_str(HEADER);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let tag = hmac::sign(&self.0, token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Claims {
        sub: String,
        exp: u64,
    }

    #[test]
    fn the_header_is_jsonwebtokens_default() {
        let header = URL_SAFE_NO_PAD.decode(HEADER).unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&header).unwrap(),
            serde_json::to_value(Header::default()).unwrap()
        );
    }

    #[test]
    fn tokens_are_jsonwebtokens_bytes_and_verify() {
        let claims = Claims {
            sub: "ann\"é@example.com".into(),
            exp: 4_000_000_000,
        };
        let ours = SigningKey::from_secret(b"k3y").sign(&claims).unwrap();
        let theirs = encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(b"k3y"),
        )
        .unwrap();
        assert_eq!(ours, theirs);
        let read = decode::<Claims>(
            &ours,
            &DecodingKey::from_secret(b"k3y"),
            &Validation::new(Algorithm::HS256),
        )
        .unwrap();
        assert_eq!(read.claims, claims);
        assert!(decode::<Claims>(
            &ours,
            &DecodingKey::from_secret(b"other"),
            &Validation::new(Algorithm::HS256)
        )
        .is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        assert_eq!(
            format!("{:?}", SigningKey::from_secret(b"k3y")),
            "SigningKey(..)"
        );
    }
}
