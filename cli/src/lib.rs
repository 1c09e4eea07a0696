//! The `kafka-iam-oauth` command, as a library: [`main_from_args`] is what
//! the binary and Python's console script (through the native module) run.
//!
//! Exit status: 0 success, 1 a check failed, 2 usage or configuration
//! error (see docs/cli.md). No token, secret key or session token is ever
//! printed, except by `token --raw`.

use clap::{Args, Parser, Subcommand};
use kafka_iam_oauth::config::{CONFIG_KEY, EXTENSIONS_KEY};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

mod acls;
mod doctor;
mod jwks;
pub mod rdkafka;
mod serve;
mod show;
mod verify;

/// Exit status: success.
pub const EXIT_OK: i32 = 0;
/// Exit status: a check failed (a token could not be had, a verification
/// or a doctor step failed).
pub const EXIT_FAILED: i32 = 1;
/// Exit status: usage or configuration error.
pub const EXIT_USAGE: i32 = 2;

/// The environment variable holding `sasl.oauthbearer.config` when
/// `--config` is not given.
pub const CONFIG_ENV: &str = "KAFKA_IAM_OAUTH_CONFIG";

#[derive(Parser, Debug)]
#[command(
    name = "kafka-iam-oauth",
    version = kafka_iam_oauth::VERSION,
    about = "AWS IAM identities for Kafka over SASL/OAUTHBEARER: check the set-up, show and verify tokens, keep a token file for Java clients"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Args, Debug, Clone, Default)]
struct Common {
    /// sasl.oauthbearer.config string (else $KAFKA_IAM_OAUTH_CONFIG, else --properties)
    #[arg(long, global = true, value_name = "STRING")]
    config: Option<String>,
    /// Kafka client properties file: sasl.oauthbearer.config, bootstrap.servers, security.protocol, ssl.ca.location
    #[arg(long, global = true, value_name = "FILE")]
    properties: Option<PathBuf>,
    /// Machine-readable output: one JSON object on stdout
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Where the credentials come from, who they belong to, and the Kafka principal the broker will see
    Whoami,
    /// Mint a token and show its principal, expiry, header and claims (never the signature)
    Token {
        /// Print only the JWT (a secret: for scripts)
        #[arg(long)]
        raw: bool,
    },
    /// Check a token the way Kafka's OAuthBearerValidatorCallbackHandler does
    Verify(verify::VerifyArgs),
    /// Print the ACL commands that grant the principal what the Aiven guide grants
    Acls(acls::AclsArgs),
    /// Run the set-up checks in order and stop at the first failure, with what to do
    Doctor(doctor::DoctorArgs),
    /// Keep a file holding a valid token (for Kafka's Java clients' file:// token endpoint)
    Serve(serve::ServeArgs),
}

/// Runs the command with `args` (the program name first, as in
/// `std::env::args_os`) and returns the exit status. Never panics out:
/// a panic is reported as an internal error (status 1).
pub fn main_from_args(args: Vec<OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let out = Output::new(cli.common.json);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&cli, &out))) {
        Ok(code) => code,
        Err(_) => {
            out.error(
                EXIT_FAILED,
                "internal",
                "internal error (a bug, please report it)",
                None,
            );
            EXIT_FAILED
        }
    }
}

fn run(cli: &Cli, out: &Output) -> i32 {
    let result = match &cli.command {
        Command::Whoami => Settings::resolve(&cli.common).and_then(|s| show::whoami(out, &s)),
        Command::Token { raw } => {
            Settings::resolve(&cli.common).and_then(|s| show::token(out, &s, *raw))
        }
        Command::Verify(a) => verify::run(out, &cli.common, a),
        Command::Acls(a) => acls::run(out, &cli.common, a),
        Command::Doctor(a) => doctor::run(out, &cli.common, a),
        Command::Serve(a) => Settings::resolve(&cli.common).and_then(|s| serve::run(out, &s, a)),
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            out.error(f.code, f.kind, &f.message, f.aws_code.as_deref());
            f.code
        }
    }
}

/// A failure that ends the command: its exit status and message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: i32,
    /// `usage`, `config`, `credentials`, `sts`, `timeout`, `io`, ... (JSON's `error.kind`).
    pub kind: &'static str,
    pub message: String,
    pub aws_code: Option<String>,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_USAGE,
            kind: "usage",
            message: message.into(),
            aws_code: None,
        }
    }

    pub(crate) fn failed(kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_FAILED,
            kind,
            message: message.into(),
            aws_code: None,
        }
    }
}

impl From<kafka_iam_oauth::Error> for Failure {
    fn from(e: kafka_iam_oauth::Error) -> Self {
        use kafka_iam_oauth::ErrorKind as K;
        let code = match e.kind() {
            K::Config | K::InvalidArgument => EXIT_USAGE,
            _ => EXIT_FAILED,
        };
        Failure {
            code,
            kind: error_kind_name(e.kind()),
            message: e.message().to_string(),
            aws_code: e.aws_code().map(str::to_string),
        }
    }
}

/// The core error kind as JSON names it (`config`, `credentials`, `sts`,
/// `timeout`, `internal`, `invalid_argument`).
pub(crate) fn error_kind_name(kind: kafka_iam_oauth::ErrorKind) -> &'static str {
    use kafka_iam_oauth::ErrorKind as K;
    match kind {
        K::InvalidArgument => "invalid_argument",
        K::Config => "config",
        K::Credentials => "credentials",
        K::Sts => "sts",
        K::Timeout => "timeout",
        K::Internal => "internal",
    }
}

pub(crate) type CliResult = Result<i32, Failure>;

/// The configuration and the Kafka client properties a subcommand runs with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    /// `sasl.oauthbearer.config`.
    pub config: String,
    /// `sasl.oauthbearer.extensions` (from the properties file).
    pub extensions: String,
    /// Every property of `--properties` (empty without it).
    pub properties: BTreeMap<String, String>,
}

impl Settings {
    /// `--config`, else `$KAFKA_IAM_OAUTH_CONFIG`, else the
    /// `sasl.oauthbearer.config` of `--properties`.
    pub(crate) fn resolve(common: &Common) -> Result<Settings, Failure> {
        let properties = match &common.properties {
            Some(path) => read_properties(path)?,
            None => BTreeMap::new(),
        };
        let config = common
            .config
            .clone()
            .or_else(|| std::env::var(CONFIG_ENV).ok().filter(|c| !c.trim().is_empty()))
            .or_else(|| properties.get(CONFIG_KEY).cloned())
            .ok_or_else(|| {
                Failure::usage(format!(
                    "no configuration: give --config STRING, set {CONFIG_ENV}, or --properties FILE with {CONFIG_KEY}"
                ))
            })?;
        let extensions = properties.get(EXTENSIONS_KEY).cloned().unwrap_or_default();
        Ok(Settings {
            config,
            extensions,
            properties,
        })
    }

    /// A property of the `--properties` file.
    pub(crate) fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The parsed configuration (exit 2 when invalid).
    pub(crate) fn parsed(&self) -> Result<kafka_iam_oauth::Config, Failure> {
        Ok(kafka_iam_oauth::Config::parse(
            &self.config,
            &self.extensions,
        )?)
    }
}

/// A Java properties file: `key=value`, `key: value` or `key value`,
/// `#`/`!` comments, `\` line continuations, `\` escapes.
pub(crate) fn read_properties(path: &std::path::Path) -> Result<BTreeMap<String, String>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read --properties {}: {e}", path.display())))?;
    Ok(parse_properties(&text))
}

fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    for line in text.lines() {
        // A continuation line's leading blanks are dropped too, as Java does.
        let piece = line.trim_start();
        if logical.is_empty()
            && (piece.is_empty() || piece.starts_with('#') || piece.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = piece.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&piece[..piece.len() - 1]);
            continue;
        }
        logical.push_str(piece);
        let (key, value) = split_property(&logical);
        out.insert(key, value);
        logical.clear();
    }
    if !logical.is_empty() {
        let (key, value) = split_property(&logical);
        out.insert(key, value);
    }
    out
}

fn split_property(line: &str) -> (String, String) {
    let mut key = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    key.push(n);
                }
            }
            '=' | ':' => break,
            c if c.is_whitespace() => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('=') | Some(':')) {
                    chars.next();
                }
                break;
            }
            c => key.push(c),
        }
    }
    let rest: String = chars.collect();
    let mut value = String::new();
    let mut it = rest.trim_start().chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some(n) => value.push(n),
                None => {}
            }
        } else {
            value.push(c);
        }
    }
    (key, value)
}

/// Where output goes: JSON on stdout, or short human lines (coloured only
/// on a terminal, and never with `NO_COLOR` set).
pub(crate) struct Output {
    pub json: bool,
    color: bool,
}

impl Output {
    fn new(json: bool) -> Output {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Output {
            json,
            color: !json && !no_color && std::io::stdout().is_terminal(),
        }
    }

    /// A human line on stdout (nothing in JSON mode).
    pub(crate) fn line(&self, text: &str) {
        if !self.json {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{text}");
            let _ = o.flush();
        }
    }

    /// The JSON document on stdout (JSON mode only).
    pub(crate) fn json(&self, value: &serde_json::Value) {
        if self.json {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(
                o,
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        }
    }

    /// One compact JSON line on stdout (JSON mode only): a stream of events.
    pub(crate) fn json_line(&self, value: &serde_json::Value) {
        if self.json {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{value}");
            let _ = o.flush();
        }
    }

    /// `text` in green / red / yellow / dim on a terminal.
    pub(crate) fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    pub(crate) fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }
    pub(crate) fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// A verdict word (`ok`, `FAIL`, `skip`) coloured.
    pub(crate) fn verdict(&self, verdict: &str) -> String {
        match verdict {
            "pass" | "ok" => self.green("ok"),
            "fail" => self.red("FAIL"),
            other => self.yellow(other),
        }
    }

    /// The error that ends the command: `{"ok": false, "error": {...}}` on
    /// stdout in JSON mode, else a line on stderr.
    pub(crate) fn error(&self, code: i32, kind: &str, message: &str, aws_code: Option<&str>) {
        if self.json {
            self.json(&serde_json::json!({
                "ok": false,
                "exit_code": code,
                "error": {"kind": kind, "message": message, "aws_code": aws_code},
            }));
        } else {
            let mut e = std::io::stderr().lock();
            let _ = writeln!(e, "kafka-iam-oauth: {}: {message}", self.red("error"));
        }
    }
}

/// A wall-clock time as RFC 3339 (UTC).
pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Seconds since the epoch as RFC 3339 (UTC); `None` when out of range.
pub(crate) fn rfc3339_secs(secs: f64) -> Option<String> {
    if !secs.is_finite() || secs.abs() > 253_402_300_799.0 {
        return None;
    }
    aws_smithy_types::DateTime::from_secs(secs as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_files() {
        let p = parse_properties(
            "# comment\n! also\nbootstrap.servers=127.0.0.1:9092\nsecurity.protocol : SASL_SSL\n\
             sasl.oauthbearer.config=region=eu-west-1,\\\n   audience=a\nssl.ca.location /tmp/ca\\ x.pem\n",
        );
        assert_eq!(p["bootstrap.servers"], "127.0.0.1:9092");
        assert_eq!(p["security.protocol"], "SASL_SSL");
        assert_eq!(p["sasl.oauthbearer.config"], "region=eu-west-1,audience=a");
        assert_eq!(p["ssl.ca.location"], "/tmp/ca x.pem");
        assert_eq!(p.len(), 4);
    }
}
