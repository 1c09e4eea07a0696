//! JWT claim decoding on arbitrary input, as a mint reads the token STS
//! returned (`kafka_iam_oauth::fuzzing`: `jwt::decode_claims` and
//! `jwt::string_claim`). It must never panic; a refusal never echoes the
//! token; a string claim it hands out is the claim's non-empty text.
#![no_main]

use kafka_iam_oauth::fuzzing::{decode_claims, string_claim};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let jwt = String::from_utf8_lossy(data);
    let claims = match decode_claims(&jwt) {
        Ok(claims) => claims,
        Err(e) => {
            // The reasons are fixed prose; a base64url-looking segment of
            // the token (12+ characters, a digit, no space, unlike any word
            // of the prose) must not be in them.
            let message = e.to_string();
            for part in jwt.split('.') {
                let base64ish = part.bytes().any(|b| b.is_ascii_digit())
                    && !part.bytes().any(|b| b.is_ascii_whitespace());
                if part.len() >= 12 && base64ish {
                    assert!(!message.contains(part), "the error echoes the token");
                }
            }
            return;
        }
    };
    for name in ["sub", "email", "https://sts.amazonaws.com/"] {
        let text = claims.get(name).and_then(|v| v.as_str());
        match string_claim(&claims, name) {
            Ok(value) => {
                assert!(!value.is_empty());
                assert_eq!(text, Some(value));
            }
            Err(_) => assert!(text.is_none_or(str::is_empty)),
        }
    }
});
