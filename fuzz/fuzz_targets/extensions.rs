//! `config::parse_extensions` on arbitrary input. It must never panic; what
//! it accepts follows RFC 7628 (keys of ASCII letters, not `auth`; values of
//! printable ASCII, space, tab, CR, LF) and, written back with
//! `config_string`, parses to the same map.
#![no_main]

use kafka_iam_oauth::config::{config_string, parse_extensions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let Ok(map) = parse_extensions(&raw) else {
        return;
    };
    for (key, value) in &map {
        assert!(!key.is_empty() && key.chars().all(|c| c.is_ascii_alphabetic()));
        assert_ne!(key, "auth");
        assert!(value
            .chars()
            .all(|c| matches!(c, '\x21'..='\x7e' | ' ' | '\t' | '\r' | '\n')));
    }
    let again = config_string(&map);
    match parse_extensions(&again) {
        Ok(back) => assert!(back == map, "round trip changed the extensions: {again:?}"),
        Err(e) => panic!("extensions {again:?} written back do not parse: {e}"),
    }
});
