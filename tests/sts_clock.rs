//! STS's clock is the reference for a token's expiry (issue 20): what is
//! left of a token is its `exp` minus STS's time at issue (the answer's
//! `Date` header, else `iat`), counted on the local monotonic clock from
//! the answer's arrival (`policy::life_left_by_sts_clock`). A token with no
//! useful life left by STS's clock is refused as a retryable STS error
//! naming both times. The emulator's clock offset moves its `Date` with
//! `iat`/`exp` (a wrong local clock: the skew tests in `resilience.rs`);
//! its faults `date_disagrees` and `no_date` make the other cases.

mod common;

use common::*;
use kafka_iam_oauth::ErrorKind;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The `Date` header of an (unsigned, refused) STS request to `url`.
fn sts_date(url: &str) -> i64 {
    use std::io::{Read, Write};
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let date = resp
        .lines()
        .find_map(|l| l.strip_prefix("date: "))
        .unwrap_or_else(|| panic!("no Date header in {resp}"));
    aws_smithy_types::DateTime::from_str(date.trim(), aws_smithy_types::date_time::Format::HttpDate)
        .unwrap()
        .secs()
}

#[test]
fn the_emulators_date_moves_with_its_clock_offset() {
    let emu = emulator();
    assert!((sts_date(emu.url()) - unix_now()).abs() <= 2);
    emu.set_clock_offset(600);
    assert!((sts_date(emu.url()) - unix_now() - 600).abs() <= 2);
    emu.set_clock_offset(-600);
    assert!((sts_date(emu.url()) - unix_now() + 600).abs() <= 2);
}

/// The UTC times (`2026-01-01T00:00:00Z`) in a message, Unix seconds.
fn times_in(text: &str) -> Vec<i64> {
    text.split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .filter_map(|w| {
            aws_smithy_types::DateTime::from_str(w, aws_smithy_types::date_time::Format::DateTime)
                .ok()
        })
        .map(|d| d.secs())
        .collect()
}

// The `date_disagrees` offsets stay within SigV4's 15 minutes: the SDK
// signs by the clock it learns from `Date` (aws-runtime's client-level
// clock skew), the emulator checks signatures by the token's clock.

#[test]
fn a_token_expired_by_sts_date_is_refused_naming_both_times() {
    setup_env(true);
    let emu = emulator();
    // Date 600 s ahead of the token's clock, tokens of 60 s: every
    // answer's token is expired by its Date. The mint retries
    // (retryable): MINT_ATTEMPTS answers, all refused.
    emu.set_fault(Fault::new(FaultMode::DateDisagrees));
    let p = provider(&emu, "date-ahead", "duration_seconds=60");
    let e = p.token().expect_err("expired by STS's own clock");
    println!("{e}");
    assert_eq!(e.kind(), ErrorKind::Sts);
    assert!(e.is_retryable());
    let text = e.to_string();
    assert!(
        text.contains("no useful life left by STS's own clock"),
        "{text}"
    );
    assert!(text.contains("Date header"), "{text}");
    // Both times: the token's expiry, and STS's Date 600 s after its iat.
    let times = times_in(&text);
    let now = unix_now();
    assert_eq!(times.len(), 2, "{text}");
    assert!((times[0] - (now + 60)).abs() <= 5, "exp: {text}");
    assert!((times[1] - (now + 600)).abs() <= 5, "Date: {text}");
    assert_eq!(
        sts_calls(&emu),
        u64::from(kafka_iam_oauth::policy::MINT_ATTEMPTS)
    );
}

#[test]
fn a_refused_answer_is_retried_at_once_within_the_mint() {
    setup_env(true);
    let emu = emulator();
    emu.set_fault(Fault::new(FaultMode::DateDisagrees).times(1));
    let p = provider(&emu, "date-ahead-once", "duration_seconds=60");
    let t = p.token().expect("the retry's answer is good");
    assert!(t.remaining() > Duration::from_secs(50));
    assert_eq!(sts_calls(&emu), 2, "one refused answer, one good");
}

#[test]
fn sts_date_shortens_the_life_counted_from_arrival() {
    setup_env(true);
    let emu = emulator();
    // STS's Date 30 s after the token's iat: 60 - 30 = 30 s left, not the
    // token's 60.
    let mut fault = Fault::new(FaultMode::DateDisagrees);
    fault.date_offset_seconds = Some(30);
    emu.set_fault(fault);
    let p = provider(&emu, "date-30", "duration_seconds=60");
    let t = p.token().expect("30 s left is useful");
    let left = t.remaining();
    assert!(
        left <= Duration::from_secs(30) && left > Duration::from_secs(25),
        "{left:?}"
    );
}

#[test]
fn a_date_behind_the_token_or_none_keeps_the_tokens_own_lifetime() {
    setup_env(true);
    let emu = emulator();
    let mut fault = Fault::new(FaultMode::DateDisagrees);
    fault.date_offset_seconds = Some(-600);
    emu.set_fault(fault);
    let behind = provider(&emu, "date-behind", "duration_seconds=60")
        .token()
        .expect("a Date behind never lengthens a token");
    let left = behind.remaining();
    assert!(
        left <= Duration::from_secs(60) && left > Duration::from_secs(55),
        "{left:?}"
    );

    emu.set_fault(Fault::new(FaultMode::NoDate));
    let none = provider(&emu, "no-date", "duration_seconds=60")
        .token()
        .expect("without a Date, iat is STS's time at issue");
    let left = none.remaining();
    assert!(
        left <= Duration::from_secs(60) && left > Duration::from_secs(55),
        "{left:?}"
    );
}
