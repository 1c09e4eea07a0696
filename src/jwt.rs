//! Reads a JWT's claims without verifying its signature: STS signed it and
//! the broker verifies it; we only need `sub` (or the configured claim),
//! `exp` and the claims to show users.
//!
//! Decoding is `jsonwebtoken`'s (on aws-lc-rs, the crypto the AWS SDK
//! already brings, so no second stack). Its errors are reduced to a fixed
//! reason: they never carry, and we never echo, any part of the token.

use crate::error::{Error, ErrorKind, Result};
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use serde_json::{Map, Value};

/// Largest token we accept from STS (real ones are about 1 KiB).
pub const MAX_JWT_LEN: usize = 16 * 1024;

/// Decodes the payload of a compact JWS (`header.payload.signature`) into
/// its claims. The header must be a JOSE header; nothing is verified.
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
    // Not verifying is the point here (see the module docs): the broker
    // checks the signature against STS's published keys.
    jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(jwt)
        .map(|data| data.claims)
        .map_err(|e| {
            bad(match e.kind() {
                JwtErrorKind::InvalidToken => "not three '.'-separated segments",
                JwtErrorKind::Base64(_) => "a segment is not base64url",
                JwtErrorKind::Json(_) | JwtErrorKind::Utf8(_) => {
                    "the header or payload is not a JSON object of the expected shape"
                }
                _ => "it cannot be decoded",
            })
        })
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

/// The claim `name` used as the principal: a top-level string claim, or,
/// for a namespaced name such as `https://sts.amazonaws.com/principal_id`
/// that is not a top-level claim, the member after the last `/` inside
/// the namespace claim before it (STS puts `principal_id` in the object
/// claim `https://sts.amazonaws.com/`).
pub fn principal_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    if claims.contains_key(name) {
        return string_claim(claims, name);
    }
    let nested = name
        .rfind('/')
        .filter(|_| name.contains("://"))
        .and_then(|cut| {
            let (namespace, member) = name.split_at(cut + 1);
            claims.get(namespace)?.as_object()?.get(member)?.as_str()
        })
        .filter(|s| !s.is_empty());
    match nested {
        Some(s) => Ok(s),
        None => string_claim(claims, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};

    fn jwt(claims: &Value) -> String {
        encode(
            &Header::default(),
            claims,
            &EncodingKey::from_secret(b"test").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn reads_claims() {
        let token = jwt(&serde_json::json!({"sub": "arn:aws:iam::1:user/u", "exp": 10}));
        let c = decode_claims(&token).unwrap();
        assert_eq!(string_claim(&c, "sub").unwrap(), "arn:aws:iam::1:user/u");
        assert_eq!(c["exp"], 10);
        assert!(string_claim(&c, "email").is_err());
    }

    #[test]
    fn principal_claim_reads_namespaced_aws_claims() {
        let token = jwt(&serde_json::json!({
            "sub": "workload-7",
            "https://sts.amazonaws.com/": {"principal_id": "arn:aws:iam::1:role/r"},
            "https://example.com/x": "top",
        }));
        let c = decode_claims(&token).unwrap();
        assert_eq!(principal_claim(&c, "sub").unwrap(), "workload-7");
        assert_eq!(
            principal_claim(&c, "https://sts.amazonaws.com/principal_id").unwrap(),
            "arn:aws:iam::1:role/r"
        );
        // A top-level claim of that exact name wins.
        assert_eq!(principal_claim(&c, "https://example.com/x").unwrap(), "top");
        for missing in [
            "https://sts.amazonaws.com/nope",
            "https://other.example/principal_id",
            "a/b",
        ] {
            let e = principal_claim(&c, missing).unwrap_err();
            assert!(e.message().contains(missing), "{e}");
        }
    }

    #[test]
    fn rejects_garbage_without_echoing_it() {
        let good = jwt(&serde_json::json!({"sub": "s"}));
        let (header, rest) = good.split_once('.').unwrap();
        let (_payload, sig) = rest.split_once('.').unwrap();
        let array_payload = format!("{header}.WzFd.{sig}"); // "[1]"
        let four = format!("{good}.c2VjcmV0");
        let not_base64 = format!("{header}.!!!secret!!!.{sig}");
        let bad_header = format!("c2VjcmV0.{rest}"); // "secret"
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "a.!!!.c",
            &array_payload,
            &four,
            &not_base64,
            &bad_header,
            &"x".repeat(MAX_JWT_LEN + 1),
        ] {
            let e = decode_claims(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Sts);
            assert!(e.message().starts_with("STS returned a malformed token"));
            for secret in ["!!!", "secret", "c2VjcmV0", "WzFd", header] {
                assert!(!e.message().contains(secret), "{bad:?}: {e}");
            }
        }
    }
}
