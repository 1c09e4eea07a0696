//! JWT claim decoding on arbitrary input, as a mint reads the token STS
//! returned: the claims, the principal claim (`sub`) and the expiry from
//! `exp`. It must never panic, whatever the token says (an `exp` of 1e300
//! included); when it accepts, the principal is the claim's non-empty text.
//!
//! Built only with `--features core-fuzzing-entry`: it needs the core's
//! `kafka_iam_oauth::fuzzing::read_token` (see DEVELOPERS.md, "Fuzzing").
#![no_main]

use kafka_iam_oauth::fuzzing::read_token;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let jwt = String::from_utf8_lossy(data);
    let Ok((claims, principal, _expires_at)) = read_token(&jwt, "sub") else {
        return;
    };
    assert!(!principal.is_empty());
    assert_eq!(
        claims.get("sub").and_then(|v| v.as_str()),
        Some(principal.as_str())
    );
});
