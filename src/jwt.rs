//! Reads a JWT's claims without verifying its signature: STS signed it and
//! the broker verifies it; we only need `sub` (or the configured claim),
//! `exp` and the claims to show users.

use crate::error::{Error, ErrorKind, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// Largest token we accept from STS (real ones are about 1 KiB).
pub const MAX_JWT_LEN: usize = 16 * 1024;

/// Decodes the payload (second segment) of a compact JWS into its claims.
pub fn decode_claims(jwt: &str) -> Result<Map<String, Value>> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Sts,
            format!("STS returned a malformed token: {why}."),
        )
    };
    if jwt.is_empty() || jwt.len() > MAX_JWT_LEN {
        return Err(bad("empty or oversized"));
    }
    let mut parts = jwt.split('.');
    let (_header, payload, _sig) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => (h, p, s),
        _ => return Err(bad("not three '.'-separated segments")),
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad("payload is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(bad("payload is not a JSON object")),
    }
}

/// The string claim `name`, or an error naming it.
pub fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(Error::config(format!(
            "the token from STS has no non-empty string claim {name:?} (principal_claim); \
             the broker's sasl.oauthbearer.sub.claim.name must name a claim the token has, such as sub."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "eyJhbGciOiJFUzM4NCJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn reads_claims() {
        let c = decode_claims(&jwt(r#"{"sub":"arn:aws:iam::1:user/u","exp":10}"#)).unwrap();
        assert_eq!(string_claim(&c, "sub").unwrap(), "arn:aws:iam::1:user/u");
        assert!(string_claim(&c, "email").is_err());
    }

    #[test]
    fn rejects_garbage_without_echoing_it() {
        for bad in ["", "a.b", "a.b.c.d", "a.!!!.c", &jwt("[1]")] {
            let e = decode_claims(bad).unwrap_err();
            assert!(!e.message().contains("!!!"));
        }
    }
}
