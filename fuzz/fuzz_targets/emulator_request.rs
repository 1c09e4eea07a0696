//! The emulator's STS request parsing on arbitrary input, read as an
//! HTTP/1.1 request (`METHOD target`, header lines, a blank line, the
//! body), the way the server hands it on after hyper: AWS Query parameters
//! from the query string and a form body, the `/_emulator/stats` view, the
//! tags, the SigV4 `Authorization` header, the canonical request and the
//! signature check (against the emulator's built-in user, at the request's
//! own `X-Amz-Date` so the check gets past the clock). It must never panic,
//! and what it accepts keeps the limits STS enforces.
#![no_main]

use kafka_iam_oauth_emulator::fuzzing::{
    canonical_request, parse_amz_date, parse_authorization, sts_params, verify, HeaderMap,
    HeaderName, HeaderValue, Request,
};
use kafka_iam_oauth_emulator::USER;
use libfuzzer_sys::fuzz_target;

/// `2026-01-01T00:00:00Z`, when the request carries no usable date.
const SOME_TIME: i64 = 1_767_225_600;

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = match find(data, b"\r\n\r\n") {
        Some(i) => (&data[..i], &data[i + 4..]),
        None => match find(data, b"\n\n") {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &[][..]),
        },
    };
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let mut words = request_line.split(' ');
    let method = words.next().unwrap_or_default();
    let target = words.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // Header lines hyper would refuse never reach the emulator.
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }

    // AWS Query parameters, as `server.rs` reads them.
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (_action, audiences, tags, last) = sts_params(query, is_form.then_some(body), &headers);
    assert_eq!(last.audiences, audiences);
    assert_eq!(last.audience, audiences.first().cloned());
    assert!(last
        .form
        .keys()
        .all(|k| !k.to_ascii_lowercase().starts_with("x-amz-")));
    if let Ok(tags) = &tags {
        assert!(tags.len() <= 50);
        for (key, value) in tags {
            assert!((1..=128).contains(&key.chars().count()));
            assert!(value.chars().count() <= 256);
        }
    }

    // SigV4.
    let Some(Ok(auth)) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(parse_authorization)
    else {
        return;
    };
    assert!(!auth.access_key_id.is_empty());
    for part in [&auth.access_key_id, &auth.date, &auth.region, &auth.service] {
        assert!(!part.contains('/'));
    }
    assert_eq!(auth.signature, auth.signature.to_ascii_lowercase());
    let req = Request {
        method,
        path,
        query,
        headers: &headers,
        body,
    };
    let canonical = canonical_request(&req, &auth.signed_headers);
    assert!(canonical.starts_with(method));
    let now = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_amz_date)
        .unwrap_or(SOME_TIME);
    let _ = verify(&req, &auth, USER.secret_access_key, now);
});
