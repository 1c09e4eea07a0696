//! `Config::parse(config, extensions)` on arbitrary input: the bytes before
//! the first 0xFF are the config string, the rest the extensions string.
//! It must never panic; when it accepts, the result is in range, its
//! `Debug` hides `external_id`, and writing the effective settings back
//! with `escape_value` parses to an equal `Config`.
#![no_main]

use kafka_iam_oauth::config::{
    escape_value, MAX_AUDIENCES, MAX_AUDIENCE_LEN, MAX_DURATION_SECONDS, MAX_TAGS,
    MIN_DURATION_SECONDS,
};
use kafka_iam_oauth::Config;
use libfuzzer_sys::fuzz_target;

/// `key=value,...` with both sides escaped. `config_string` escapes only
/// values, which is enough for the table's keys but not for every tag name
/// the parser accepts (a `tag_a\,b` key), so keys are escaped here too.
fn write(pairs: impl IntoIterator<Item = (String, String)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", escape_value(&k), escape_value(&v)))
        .collect::<Vec<_>>()
        .join(",")
}

fuzz_target!(|data: &[u8]| {
    let (config, extensions) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let config = String::from_utf8_lossy(config);
    let extensions = String::from_utf8_lossy(extensions);
    let Ok(c) = Config::parse(&config, &extensions) else {
        return;
    };

    assert!(!c.region.is_empty());
    // Every audience (audience, audience_2 ... audience_10) within STS's
    // limits, and none twice.
    let audiences: Vec<&str> = c.audiences().collect();
    assert!(audiences.len() <= MAX_AUDIENCES);
    for (i, a) in audiences.iter().enumerate() {
        assert!(!a.is_empty() && a.chars().count() <= MAX_AUDIENCE_LEN);
        assert!(!audiences[..i].contains(a));
    }
    assert!((MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&c.duration_seconds));
    assert!(c.tags.len() <= MAX_TAGS);
    assert!(c.tags.keys().all(|name| !name.is_empty()));
    for key in c.extensions.keys() {
        assert!(!key.is_empty() && key.chars().all(|ch| ch.is_ascii_alphabetic()));
        assert_ne!(key, "auth");
    }

    // Debug shows only whether external_id is set, never its value.
    let mut other = c.clone();
    other.external_id = c.external_id.as_ref().map(|_| "x".to_string());
    assert_eq!(format!("{c:?}"), format!("{other:?}"));

    // The effective settings, written back, mean the same configuration.
    let again = write(c.effective());
    let again_ext = write(c.extensions.clone());
    match Config::parse(&again, &again_ext) {
        Ok(back) => assert!(back == c, "round trip changed the config: {again:?}"),
        Err(e) => panic!("effective config {again:?} / {again_ext:?} does not parse: {e}"),
    }
});
