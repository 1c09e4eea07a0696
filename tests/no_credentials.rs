//! A process with no AWS identity at all gets a message listing where the
//! default chain looked (IMDS is disabled so nothing leaves loopback).

mod common;

use common::*;
use kafka_iam_oauth::ErrorKind;

#[test]
fn missing_credentials_list_where_the_chain_looked() {
    setup_env(false);
    let emu = emulator();
    let e = provider(&emu, "nocreds", "").token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Credentials, "{e}");
    for place in [
        "AWS_ACCESS_KEY_ID",
        "~/.aws/credentials",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "instance metadata",
    ] {
        assert!(e.message().contains(place), "missing {place:?} in: {e}");
    }
    assert_eq!(sts_calls(&emu), 0);
}
