//! Secrets never reach an error or a log line: a credential_process that
//! writes a (fake) access key id and secret key to stderr and fails (in the
//! selected profile, and as the source_profile of a role). Every
//! tracing event of the process (the library's and the AWS SDK's, at every
//! level) is captured and checked, and written to
//! `$KIO_SECRETS_LOG_DIR/tracing.log` when set, for `make test-secrets`'
//! grep over every suite's logs (`tests/secrets/grep-logs.sh`).

mod common;

use common::*;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, OnceLock};

/// Fake, but shaped like the real thing (the AWS docs' example key pair,
/// changed): `tests/secrets/grep-logs.sh` greps for these two strings.
const FAKE_KEY_ID: &str = "AKIAFAKESECRETFAKE12";
const FAKE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKESECRET";
const FAKE_SESSION_TOKEN: &str = "FwoGZXIvYXdzEFAKESESSIONTOKEN0123456789abcdefFAKE";

/// Every tracing event and span field of this process, formatted.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

fn keep(line: String) {
    LINES.lock().unwrap().push(line);
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let mut f = Fields(format!("span {}:", span.metadata().name()));
        span.record(&mut f);
        keep(f.0);
        tracing::span::Id::from_u64(NEXT.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut f = Fields("span record:".into());
        values.record(&mut f);
        keep(f.0);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let m = event.metadata();
        let mut f = Fields(format!("{} {}:", m.level(), m.target()));
        event.record(&mut f);
        keep(f.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Captures every event from here on (the library logs from its own
/// runtime's threads, so the subscriber is the global one).
fn capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing::subscriber::set_global_default(Capture).expect("no other subscriber");
    });
}

/// The AWS config file's profiles, written once per process.
struct Fixture;

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        capture();
        setup_env(false);
        let dir = std::env::temp_dir().join(format!("kio-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A script run with `set -x` that leaks what it handles to stderr:
        // the first line is the worst case (key id and secret on it).
        let leaky = dir.join("leaky.sh");
        write_script(
            &leaky,
            &format!(
                "echo '+ vault read: {FAKE_KEY_ID} {FAKE_SECRET}' >&2\n\
                 echo 'aws_secret_access_key={FAKE_SECRET}' >&2\n\
                 echo '\"SessionToken\": \"{FAKE_SESSION_TOKEN}\"' >&2\n\
                 exit 1\n"
            ),
        );
        // The same, with the secrets in JSON on stdout and exit 0 but a
        // broken document: stdout is never quoted.
        let bad_json = dir.join("bad-json.sh");
        write_script(
            &bad_json,
            &format!(
                "printf '%s' '{{\"Version\":1,\"AccessKeyId\":\"{FAKE_KEY_ID}\",\"SecretAccessKey\":\"{FAKE_SECRET}\",'\n"
            ),
        );
        let config = format!(
            "[profile leaky]\ncredential_process = {}\n\n\
             [profile bad-json]\ncredential_process = {}\n\n\
             [profile chained]\nrole_arn = arn:aws:iam::123456789012:role/kafka\nsource_profile = leaky\n",
            leaky.display(),
            bad_json.display()
        );
        std::fs::write(dir.join("config"), config).unwrap();
        std::env::set_var("AWS_CONFIG_FILE", dir.join("config"));
        Fixture
    })
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [
        FAKE_KEY_ID,
        FAKE_SECRET,
        FAKE_SESSION_TOKEN,
        "FAKESECRET",
        "FAKESESSIONTOKEN",
    ] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

/// Writes the captured lines for the log grep of `make test-secrets`.
fn save_log(test: &str, lines: &[String]) {
    if let Some(dir) = std::env::var_os("KIO_SECRETS_LOG_DIR") {
        let dir = Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("tracing-{test}.log")), lines.join("\n")).unwrap();
    }
}

#[test]
fn failing_credential_process_secrets_reach_no_error_and_no_log_line() {
    let _ = fixture();
    let emu = emulator();
    let p = provider(&emu, "leaky", "profile=leaky,aws_debug=console");
    let e = p.token().expect_err("the process fails");
    let msg = e.message().to_string();
    println!("the error: {msg}");
    assert!(
        msg.contains("credential_process of profile \"leaky\""),
        "{msg}"
    );
    // The first line is quoted, redacted: the user still sees what failed.
    assert!(msg.contains("vault read: <redacted> <redacted>"), "{msg}");
    assert_no_secret("the error", &msg);
    assert_no_secret("the error's Debug", &format!("{e:?}"));
    assert_no_secret("the error's Display", &e.to_string());
    let lines = LINES.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("token mint failed")),
        "the failure is logged (else this test proves nothing): {lines:?}"
    );
    for l in &lines {
        assert_no_secret("a log line", l);
    }
    save_log("leaky", &lines);
}

#[test]
fn credential_process_stdout_is_never_quoted() {
    let _ = fixture();
    let emu = emulator();
    let e = provider(&emu, "bad-json", "profile=bad-json")
        .token()
        .expect_err("not JSON");
    assert!(
        e.message().contains("not credential_process JSON"),
        "{}",
        e.message()
    );
    assert_no_secret("the error", e.message());
    let lines = LINES.lock().unwrap().clone();
    for l in &lines {
        assert_no_secret("a log line", l);
    }
    save_log("bad-json", &lines);
}

#[test]
fn source_profile_credential_process_secrets_reach_no_error_and_no_log_line() {
    // role_arn + source_profile with the leaky process: the library runs
    // the process (the SDK's runner would log its whole stderr at WARN).
    let _ = fixture();
    let emu = emulator();
    let e = provider(&emu, "chained", "profile=chained")
        .token()
        .expect_err("the source profile's process fails");
    let msg = e.message();
    println!("the error: {msg}");
    assert!(
        msg.contains("credential_process of profile \"leaky\""),
        "{msg}"
    );
    assert!(msg.contains("<redacted>"), "{msg}");
    assert_no_secret("the error", msg);
    let lines = LINES.lock().unwrap().clone();
    for l in &lines {
        assert_no_secret("a log line", l);
    }
    save_log("chained", &lines);
}
