//! A machine with no CA certificates (a minimal container without the
//! `ca-certificates` package): a mint over `https` fails with an error
//! naming the problem and the fix, never a panic, again on the next
//! attempt (the SDK's own root loading panicked, then poisoned its client
//! for good); plain `http` (the emulator) still works; and once
//! certificates appear, the same process uses them.
//!
//! Runs in a child process of this test binary whose `SSL_CERT_FILE` (not
//! there yet) and `SSL_CERT_DIR` (empty) are all `rustls-native-certs`
//! reads when they are set, so the machine's own certificates are never
//! seen. The `https` endpoint is a loopback listener that counts
//! connections: nothing is sent while there are no roots.

mod common;

use kafka_iam_oauth::{ErrorKind, Provider};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Set in the child process: the scenario it runs.
const CHILD: &str = "KIO_NO_CA_CERTS_CHILD";

/// A self-signed CA certificate made for this test (its key was never
/// kept): a bundle rustls accepts as a trust anchor.
const TEST_CA_PEM: &str = include_str!("no_ca_certs.pem");

/// The child's entry: a no-op in the normal test run.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    match scenario.as_str() {
        "no_roots" => no_roots(),
        "no_roots_in_chain" => no_roots_in_chain(),
        other => panic!("unknown scenario {other}"),
    }
    println!("scenario {scenario} passed");
}

/// Runs `scenario` in a child with no trust roots: `SSL_CERT_FILE` not
/// there (yet), `SSL_CERT_DIR` empty. Nothing may panic.
fn run_without_roots(scenario: &str) {
    let dir = tempfile::tempdir().unwrap();
    let certs_dir = dir.path().join("certs");
    std::fs::create_dir(&certs_dir).unwrap();
    let env = [
        (
            "SSL_CERT_FILE".to_string(),
            dir.path().join("bundle.pem").display().to_string(),
        ),
        ("SSL_CERT_DIR".to_string(), certs_dir.display().to_string()),
    ];
    let (_, stderr) = common::run_in_child(CHILD, scenario, &env);
    for bad in ["panicked", "PoisonError", "internal error"] {
        assert!(!stderr.contains(bad), "{bad:?} in the child's stderr");
    }
}

#[test]
fn no_ca_certificates_is_an_error_naming_the_fix_not_a_panic() {
    run_without_roots("no_roots");
}

#[test]
fn no_ca_certificates_in_the_credential_chain_is_a_credentials_error() {
    run_without_roots("no_roots_in_chain");
}

/// A loopback "https" server that counts connections and closes each at
/// once (it speaks no TLS): its port and the count.
fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, accepted)
}

const FIX: &str = "install the ca-certificates package, or set SSL_CERT_FILE to a PEM bundle";

fn no_roots() {
    common::setup_env(true);
    let bundle = PathBuf::from(std::env::var_os("SSL_CERT_FILE").unwrap());
    assert!(!bundle.exists());

    let (port, accepted) = counting_listener();
    // One Minter (same shared part) for every audience: each audience is
    // its own cache entry, so each token() is a fresh mint on it.
    let https = |audience: &str| {
        Provider::new(
            &format!(
                "region=eu-west-1,audience={audience},sts_endpoint=https://127.0.0.1:{port},mint_timeout_seconds=10"
            ),
            "",
        )
        .expect("valid config")
    };

    for (attempt, audience) in ["no-ca-1", "no-ca-2"].into_iter().enumerate() {
        let e = https(audience).token().unwrap_err();
        println!("attempt {}: {:?}: {e}", attempt + 1, e.kind());
        assert_eq!(e.kind(), ErrorKind::Sts, "{e}");
        assert!(e.is_retryable(), "{e}");
        for part in [
            "no CA certificates found",
            &format!("https://127.0.0.1:{port}/"),
            &bundle.display().to_string(),
            FIX,
        ] {
            assert!(e.message().contains(part), "{part:?} missing in: {e}");
        }
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a request was sent without trust roots"
    );

    // Plain http needs no roots.
    let emu = common::emulator();
    common::provider(&emu, "no-ca-http", "")
        .token()
        .expect("a mint over http without CA certificates");

    // The certificates appear: the same process (the same Minter) now
    // verifies with them, so the request goes out (and fails only because
    // this listener speaks no TLS).
    std::fs::write(&bundle, TEST_CA_PEM).unwrap();
    let e = https("no-ca-3").token().unwrap_err();
    println!("with roots: {:?}: {e}", e.kind());
    assert!(!e.message().contains("no CA certificates"), "{e}");
    assert_ne!(e.kind(), ErrorKind::Internal, "{e}");
    assert!(
        accepted.load(Ordering::SeqCst) >= 1,
        "no TLS connection attempted once roots were there: {e}"
    );
}

/// IRSA: the chain's own AssumeRoleWithWebIdentity goes to an `https` STS
/// (`AWS_ENDPOINT_URL_STS`) while the mint's STS is the `http` emulator.
fn no_roots_in_chain() {
    common::setup_env(false);
    let (port, accepted) = counting_listener();
    let token_file = std::env::temp_dir().join(format!("kio-no-ca-{}", std::process::id()));
    std::fs::write(&token_file, "not-a-real-token").unwrap();
    // Set before the SDK runs (setup_env clears them).
    std::env::set_var("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file);
    std::env::set_var("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/no-ca");
    std::env::set_var("AWS_ENDPOINT_URL_STS", format!("https://127.0.0.1:{port}"));
    let emu = common::emulator();
    let e = common::provider(&emu, "no-ca-chain", "")
        .token()
        .unwrap_err();
    println!("{:?}: {e}", e.kind());
    assert_eq!(e.kind(), ErrorKind::Credentials, "{e}");
    assert!(e.is_retryable(), "{e}");
    for part in [
        "could not load AWS credentials",
        "no CA certificates found",
        &format!("https://127.0.0.1:{port}/"),
        FIX,
    ] {
        assert!(e.message().contains(part), "{part:?} missing in: {e}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "sent without roots");
    assert_eq!(common::sts_calls(&emu), 0);
    let _ = std::fs::remove_file(&token_file);
}
