//! Parsing of `sasl.oauthbearer.config` and `sasl.oauthbearer.extensions`.
//!
//! The grammar is librdkafka's (`config/grammar.rs`; [`escape_value`] is
//! its inverse), and the accepted keys and their checks follow the parser that
//! confluent-kafka-python ships for its AWS IAM path, so a config string that
//! works there works here unchanged. Every key, Confluent's and ours, is one
//! entry of [`KEYS`]; the parity test in `tests/python/test_config_parity.py`
//! feeds the same strings to both parsers.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;

mod grammar;
mod keys;

pub use grammar::{config_string, escape_value};
pub use keys::{Key, Rule, KEYS};

use grammar::parse_key_values;
pub(crate) use keys::default_of;

/// The config property this string comes from (used in messages).
pub const CONFIG_KEY: &str = "sasl.oauthbearer.config";
/// The extensions property (used in messages).
pub const EXTENSIONS_KEY: &str = "sasl.oauthbearer.extensions";
/// Token lifetime bounds STS allows, and our default.
pub const MIN_DURATION_SECONDS: u32 = 60;
/// Upper bound of `duration_seconds`.
pub const MAX_DURATION_SECONDS: u32 = 3600;
/// Default `duration_seconds` (the same as its entry in [`KEYS`]; a test
/// checks they agree).
pub const DEFAULT_DURATION_SECONDS: u32 = 300;
/// Bounds of `mint_timeout_seconds` (its default is in [`KEYS`]).
pub const MIN_MINT_TIMEOUT_SECONDS: u32 = 1;
/// Upper bound of `mint_timeout_seconds`.
pub const MAX_MINT_TIMEOUT_SECONDS: u32 = 300;
/// At most this many `tag_<name>` keys (an STS limit).
pub const MAX_TAGS: usize = 50;
/// STS limit on the audience length.
pub const MAX_AUDIENCE_LEN: usize = 1000;
/// STS limit on the number of audiences of one token (`audience` plus
/// `audience_2` ... `audience_10`).
pub const MAX_AUDIENCES: usize = 10;
/// Inputs longer than this are refused before parsing.
pub const MAX_INPUT_LEN: usize = 64 * 1024;

/// JWT signing algorithm STS uses for the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SigningAlgorithm {
    /// ECDSA P-384 with SHA-384 (the default).
    Es384,
    /// RSA PKCS#1 v1.5 with SHA-256.
    Rs256,
}

impl SigningAlgorithm {
    /// The name STS and JOSE use.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Es384 => "ES384",
            SigningAlgorithm::Rs256 => "RS256",
        }
    }
}

/// `subject_mode`: whose identity the token's `sub` names (STS's
/// `SubjectMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectMode {
    /// The calling principal's ARN (the default, STS's `Caller`).
    Caller,
    /// The user or workload the calling session acts for (from the
    /// session's `aws:OriginIdentity/*` context; STS's `OriginIdentity`).
    OriginIdentity,
}

impl SubjectMode {
    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectMode::Caller => "caller",
            SubjectMode::OriginIdentity => "origin_identity",
        }
    }

    /// The value of STS's `SubjectMode` request parameter.
    pub fn sts_value(self) -> &'static str {
        match self {
            SubjectMode::Caller => "Caller",
            SubjectMode::OriginIdentity => "OriginIdentity",
        }
    }
}

/// `aws_debug`: whether to log credential source and STS calls to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AwsDebug {
    /// No console logging (the default).
    None,
    /// Log credential source and STS calls (never secrets) to stderr.
    Console,
}

impl AwsDebug {
    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            AwsDebug::None => "none",
            AwsDebug::Console => "console",
        }
    }
}

/// The effective configuration: defaults filled in, everything validated.
///
/// Two equal `Config`s share one process-wide cache entry.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Config {
    /// AWS region whose STS endpoint mints the token.
    pub region: String,
    /// The `aud` claim to request (the first one when there are more).
    pub audience: String,
    /// More audiences (`audience_2` ... `audience_10`, our addition), in
    /// the order of their numbers; see [`Config::audiences`].
    pub extra_audiences: Vec<String>,
    /// Requested token lifetime in seconds (60..=3600).
    pub duration_seconds: u32,
    /// Signing algorithm.
    pub signing_algorithm: SigningAlgorithm,
    /// Endpoint override (FIPS, VPC endpoint, local emulator).
    pub sts_endpoint: Option<String>,
    /// Console logging.
    pub aws_debug: AwsDebug,
    /// STS request tags (`tag_<name>=<value>`), sorted by name.
    pub tags: BTreeMap<String, String>,
    /// Named AWS profile (our addition).
    pub profile: Option<String>,
    /// Role to assume before minting (our addition).
    pub role_arn: Option<String>,
    /// Session name for `role_arn` (our addition).
    pub role_session_name: Option<String>,
    /// External id for `role_arn` (our addition).
    pub external_id: Option<String>,
    /// JWT claim used as the Kafka principal (our addition, default `sub`).
    pub principal_claim: String,
    /// Whose identity `sub` names (our addition, default `caller`).
    pub subject_mode: SubjectMode,
    /// Deadline of one mint in seconds: credentials, STS call, retries
    /// (our addition, default 6).
    pub mint_timeout_seconds: u32,
    /// Whether a plain `http://` `sts_endpoint` off loopback is allowed
    /// (our addition, default false).
    pub allow_insecure_http: bool,
    /// SASL extensions sent with the token, from `sasl.oauthbearer.extensions`.
    pub extensions: BTreeMap<String, String>,
}

impl fmt::Debug for Config {
    // Nothing here is secret, but some values (external_id) are shared
    // values some treat as sensitive: the table marks them, and Debug shows
    // only whether they are set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Config");
        for key in KEYS {
            if key.prefix {
                if key.name == keys::AUDIENCE_PREFIX {
                    d.field("extra_audiences", &self.extra_audiences);
                } else {
                    d.field("tags", &self.tags);
                }
                continue;
            }
            let value = (key.get)(self);
            if key.redacted {
                d.field(key.name, &value.map(|_| "<set>"));
            } else {
                d.field(key.name, &value);
            }
        }
        d.field("extensions", &self.extensions).finish()
    }
}

impl Config {
    /// Parses and validates a `sasl.oauthbearer.config` string and an
    /// optional `sasl.oauthbearer.extensions` string (empty = none).
    /// Makes no network call.
    ///
    /// Duplicate keys: the last wins. Confluent's keys have their syntax
    /// checked on every occurrence and their range / allowed values on the
    /// value that wins, as Confluent's parser does; our own keys are checked
    /// in full on every occurrence.
    pub fn parse(config: &str, extensions: &str) -> Result<Config> {
        check_len(CONFIG_KEY, config)?;
        check_len(EXTENSIONS_KEY, extensions)?;
        // The value that wins for each entry of KEYS (by index).
        let mut given: Vec<Option<String>> = vec![None; KEYS.len()];
        let mut tags = BTreeMap::new();
        let mut extra_audiences = BTreeMap::new();
        for (raw_key, value) in parse_key_values(config, CONFIG_KEY)? {
            let Some((i, key, name)) = keys::lookup(&raw_key) else {
                return Err(Error::config(format!(
                    "{CONFIG_KEY}: unknown key {raw_key:?}. Allowed keys: {}.",
                    keys::allowed_list()
                )));
            };
            if key.prefix && key.name == keys::AUDIENCE_PREFIX {
                let n = audience_number(name)?;
                let value = check_syntax(key, value)
                    .and_then(|v| check_value(key, v))
                    .map_err(|e| {
                        Error::config(e.message().replacen(
                            "'audience_'",
                            &format!("'audience_{n}'"),
                            1,
                        ))
                    })?;
                extra_audiences.insert(n, value);
                continue;
            }
            if key.prefix {
                if name.is_empty() {
                    return Err(Error::config(format!(
                        "{CONFIG_KEY}: tag key '{0}' has an empty name; write {0}<name>=<value>.",
                        key.name
                    )));
                }
                tags.insert(name.to_string(), value);
                continue;
            }
            let value = check_syntax(key, value)?;
            given[i] = Some(if key.ours {
                check_value(key, value)?
            } else {
                value
            });
        }

        let is_given = |name: &str| {
            KEYS.iter()
                .zip(&given)
                .any(|(k, v)| k.name == name && v.is_some())
        };
        let mut c = Config::blank();
        for (key, value) in KEYS.iter().zip(given.iter().cloned()) {
            let requirement_met = key.requires.is_none_or(is_given);
            let value = match value {
                Some(_) if !requirement_met => {
                    return Err(Error::config(format!(
                        "{CONFIG_KEY}: '{}' is set without '{r}': role settings need '{r}'.",
                        key.name,
                        r = key.requires.unwrap_or_default()
                    )));
                }
                Some(v) if key.ours => v,
                Some(v) => check_value(key, v)?,
                None if key.required => {
                    return Err(Error::config(format!(
                        "{CONFIG_KEY}: '{}' is required{}.",
                        key.name, key.required_hint
                    )));
                }
                None => match key.default {
                    Some(d) if requirement_met => d.to_string(),
                    _ => continue,
                },
            };
            (key.set)(&mut c, value);
        }
        if tags.len() > MAX_TAGS {
            return Err(Error::config(format!(
                "{CONFIG_KEY}: {} tag_<name> keys given; STS allows at most {MAX_TAGS}.",
                tags.len()
            )));
        }
        c.tags = tags;
        c.extra_audiences = extra_audiences.into_values().collect();
        if let Some(dup) = c
            .extra_audiences
            .iter()
            .enumerate()
            .find(|(i, a)| **a == c.audience || c.extra_audiences[..*i].contains(a))
        {
            return Err(Error::config(format!(
                "{CONFIG_KEY}: the audience {:?} is given twice (audience, audience_<N>); give each audience once.",
                dup.1
            )));
        }
        c.extensions = parse_extensions(extensions)?;
        if let Some(endpoint) = &c.sts_endpoint {
            if !c.allow_insecure_http && !is_https_or_loopback(endpoint) {
                return Err(Error::config(format!(
                    "{CONFIG_KEY}: 'sts_endpoint' {endpoint:?} is plain http:// to a host that is not loopback: \
                     the signed request and the token would travel in clear text. Use https://, or set \
                     allow_insecure_http=true if the network path is trusted."
                )));
            }
        }
        Ok(c)
    }

    /// Every audience of the token, `audience` first: the `aud` claim
    /// (a list when there is more than one) and STS's `Audience.member.N`.
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.audience.as_str())
            .chain(self.extra_audiences.iter().map(String::as_str))
    }

    /// The deadline of one mint (`mint_timeout_seconds`).
    pub fn mint_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.mint_timeout_seconds.into())
    }

    /// Everything unset; `parse` fills it in from the table.
    fn blank() -> Config {
        Config {
            region: String::new(),
            audience: String::new(),
            extra_audiences: Vec::new(),
            duration_seconds: DEFAULT_DURATION_SECONDS,
            signing_algorithm: SigningAlgorithm::Es384,
            sts_endpoint: None,
            aws_debug: AwsDebug::None,
            tags: BTreeMap::new(),
            profile: None,
            role_arn: None,
            role_session_name: None,
            external_id: None,
            principal_claim: String::new(),
            subject_mode: SubjectMode::Caller,
            mint_timeout_seconds: 6,
            allow_insecure_http: false,
            extensions: BTreeMap::new(),
        }
    }

    /// The effective settings as `(key, value)` pairs in the order of
    /// [`KEYS`], defaults included, unset keys left out, each tag as
    /// `tag_<name>` (used by `parse_config` in Python).
    pub fn effective(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for key in KEYS {
            if key.prefix && key.name == keys::AUDIENCE_PREFIX {
                out.extend(
                    self.extra_audiences
                        .iter()
                        .enumerate()
                        .map(|(i, a)| (format!("{}{}", key.name, i + 2), a.clone())),
                );
            } else if key.prefix {
                out.extend(
                    self.tags
                        .iter()
                        .map(|(k, v)| (format!("{}{k}", key.name), v.clone())),
                );
            } else if let Some(v) = (key.get)(self) {
                out.push((key.name.to_string(), v));
            }
        }
        out
    }
}

/// The `N` of `audience_<N>`: 2 to [`MAX_AUDIENCES`], written in ASCII
/// digits without a sign or leading zeros (so one audience has one key).
fn audience_number(name: &str) -> Result<usize> {
    let n = name
        .parse::<usize>()
        .ok()
        .filter(|_| name.bytes().all(|b| b.is_ascii_digit()) && !name.starts_with('0'));
    match n {
        Some(n) if (2..=MAX_AUDIENCES).contains(&n) => Ok(n),
        _ => Err(Error::config(format!(
            "{CONFIG_KEY}: unknown key \"audience_{name}\": more audiences are written audience_2 ... audience_{MAX_AUDIENCES} \
             (STS allows at most {MAX_AUDIENCES} audiences per token; `audience` is the first).",
        ))),
    }
}

fn check_len(what: &str, s: &str) -> Result<()> {
    if s.len() > MAX_INPUT_LEN {
        return Err(Error::config(format!(
            "{what} is {} bytes long; at most {MAX_INPUT_LEN} bytes are accepted.",
            s.len()
        )));
    }
    Ok(())
}

/// `got "value"` for messages; a redacted key's value is never echoed.
fn got(key: &Key, value: &str) -> String {
    if key.redacted {
        "got a value that is not allowed".to_string()
    } else {
        format!("got {value:?}")
    }
}

/// The checks made on every occurrence of a key: not empty, integer
/// syntax. Returns the value, lower-cased where case does not matter.
fn check_syntax(key: &Key, value: String) -> Result<String> {
    match key.rule {
        Rule::AnyText => Ok(value),
        Rule::Integer { min, max } => parse_int(key, min, max, &value).map(|_| value),
        _ if value.is_empty() => Err(Error::config(format!(
            "{CONFIG_KEY}: '{}' must not be empty; expected {}.",
            key.name, key.allowed
        ))),
        Rule::OneOf {
            ignore_case: true, ..
        } => Ok(value.to_lowercase()),
        _ => Ok(value),
    }
}

/// Range, allowed values and form; returns the value to store.
fn check_value(key: &Key, value: String) -> Result<String> {
    let must_be = || {
        Error::config(format!(
            "{CONFIG_KEY}: '{}' must be {}; {}.",
            key.name,
            key.allowed,
            got(key, &value)
        ))
    };
    let ok = match key.rule {
        Rule::Text | Rule::AnyText => true,
        Rule::Chars { min, max } => {
            let n = value.chars().count();
            if !(min..=max).contains(&n) {
                return Err(Error::config(format!(
                    "{CONFIG_KEY}: '{}' must be {min} to {max} characters long; got {n} characters.",
                    key.name
                )));
            }
            true
        }
        Rule::Integer { min, max } => {
            let n = parse_int(key, min, max, &value)?;
            if n < min as u128 || n > max as u128 {
                return Err(Error::config(format!(
                    "{CONFIG_KEY}: '{}' must be between {min} and {max} inclusive; {}.",
                    key.name,
                    got(key, &value)
                )));
            }
            return Ok(n.to_string());
        }
        Rule::OneOf { values, .. } => values.contains(&value.as_str()),
        Rule::HttpUrl if has_user_info(&value) => {
            // Never echo the value: the part before '@' is a password.
            return Err(Error::config(format!(
                "{CONFIG_KEY}: '{}' must not contain user info (user:password@); STS authenticates \
                 with the AWS credentials, never with credentials in the URL. The value is not shown.",
                key.name
            )));
        }
        Rule::HttpUrl => is_http_url(&value),
        Rule::RoleArn => value.starts_with("arn:") && value.contains(":role/"),
        Rule::SessionName => {
            let ok_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c);
            (2..=64).contains(&value.len()) && value.chars().all(ok_char)
        }
    };
    if ok {
        Ok(value)
    } else {
        Err(must_be())
    }
}

/// Reads an integer the way Python's `int()` reads ASCII input
/// (surrounding whitespace, a sign, `_` between digits), for parity with
/// Confluent's parser. The range is checked after last-wins: out-of-range
/// values come back as they are (negative or huge ones as `u128::MAX`).
fn parse_int(key: &Key, min: u32, max: u32, value: &str) -> Result<u128> {
    let bad = || {
        Error::config(format!(
            "{CONFIG_KEY}: '{}' must be an integer from {min} to {max}; {}.",
            key.name,
            got(key, value)
        ))
    };
    let t = value.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let b = digits.as_bytes();
    let well_formed = !b.is_empty()
        && b[0].is_ascii_digit()
        && b[b.len() - 1].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_digit() || *c == b'_')
        && !digits.contains("__");
    if !well_formed {
        return Err(bad());
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let clean = clean.trim_start_matches('0');
    if clean.is_empty() {
        return Ok(0);
    }
    if neg || clean.len() > 10 {
        // Negative or far out of range: report it as out of range.
        return Ok(u128::MAX);
    }
    Ok(clean.parse().unwrap_or(u128::MAX))
}

/// An `http://` or `https://` URL (scheme written in lower case, as
/// before) with a host, nothing the `url` crate would silently drop
/// (whitespace, control characters).
fn is_http_url(v: &str) -> bool {
    if !(v.starts_with("http://") || v.starts_with("https://")) {
        return false;
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match url::Url::parse(v) {
        Ok(u) => {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        }
        Err(_) => false,
    }
}

/// Whether the authority of `v` (between `://` and the path) has user
/// info (`user:password@`). Checked on the raw text, so a URL the `url`
/// crate would refuse is caught too.
fn has_user_info(v: &str) -> bool {
    let rest = v.split_once("://").map_or(v, |(_, rest)| rest);
    rest.split(['/', '?', '#'])
        .next()
        .is_some_and(|authority| authority.contains('@'))
}

/// `https://`, or `http://` to a loopback host (127.0.0.0/8, ::1,
/// localhost): the emulator and tests. `v` passed [`is_http_url`].
fn is_https_or_loopback(v: &str) -> bool {
    let Ok(u) = url::Url::parse(v) else {
        return false;
    };
    if u.scheme() == "https" {
        return true;
    }
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Parses `sasl.oauthbearer.extensions`: `key=value,...`; keys are ASCII
/// letters only and not `auth` (RFC 7628), values are printable ASCII.
pub fn parse_extensions(raw: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (key, value) in parse_key_values(raw, EXTENSIONS_KEY)? {
        if !key.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(Error::config(format!(
                "{EXTENSIONS_KEY}: extension key {key:?} must be ASCII letters only (RFC 7628)."
            )));
        }
        if key == "auth" {
            return Err(Error::config(format!(
                "{EXTENSIONS_KEY}: extension key 'auth' is reserved by SASL/OAUTHBEARER (RFC 7628)."
            )));
        }
        // RFC 7628 value: %x21-7E / SP / HTAB / CR / LF.
        if !value
            .chars()
            .all(|c| matches!(c, '\x21'..='\x7e' | ' ' | '\t' | '\r' | '\n'))
        {
            return Err(Error::config(format!(
                "{EXTENSIONS_KEY}: the value of extension {key:?} must be printable ASCII (RFC 7628)."
            )));
        }
        out.insert(key, value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Config {
        Config::parse(s, "").unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }
    fn err(s: &str) -> String {
        Config::parse(s, "").expect_err(s).to_string()
    }

    #[test]
    fn defaults_are_filled_in() {
        let c = ok("region=eu-west-1,audience=kafka");
        assert_eq!(c.duration_seconds, 300);
        assert_eq!(c.signing_algorithm, SigningAlgorithm::Es384);
        assert_eq!(c.aws_debug, AwsDebug::None);
        assert_eq!(c.principal_claim, "sub");
        assert!(c.sts_endpoint.is_none() && c.tags.is_empty());
    }

    #[test]
    fn grammar_matches_librdkafka() {
        let c =
            ok(" region=eu-west-1 ,,audience=a\\,b=c, duration_seconds=600,duration_seconds=900");
        assert_eq!(c.region, "eu-west-1");
        // As in librdkafka and Confluent's parser the key is not trimmed
        // around '=': "region " is an unknown key.
        assert!(err("region =r,audience=a").contains("unknown key \"region \""));
        assert_eq!(c.audience, "a,b=c");
        assert_eq!(c.duration_seconds, 900, "last wins");
        // Last wins before the value checks, as in Confluent's parser.
        let c = ok(
            "region=r,audience=a,duration_seconds=5,duration_seconds=600,\
                    signing_algorithm=es384,signing_algorithm=RS256,aws_debug=x,aws_debug=CONSOLE",
        );
        assert_eq!(c.duration_seconds, 600);
        assert_eq!(c.signing_algorithm, SigningAlgorithm::Rs256);
        assert_eq!(c.aws_debug, AwsDebug::Console);
        assert_eq!(
            ok("region=r,audience=x\\ ").audience,
            "x",
            "escaped trailing space still trimmed"
        );
        assert_eq!(
            ok("region=r,audience=\\ x").audience,
            " x",
            "escaped leading space kept"
        );
        assert_eq!(ok("region=r,audience=a\\tb").audience, "a\tb");
    }

    #[test]
    fn rejections_name_the_key_and_allowed_values() {
        assert!(err("audience=a").contains("'region' is required"));
        assert!(err("region=r").contains("'audience' is required"));
        assert!(err("region=,audience=a").contains("'region' must not be empty"));
        assert!(err("region=r,audience=a,duration_seconds=59").contains("between 60 and 3600"));
        assert!(err("region=r,audience=a,duration_seconds=abc")
            .contains("'duration_seconds' must be an integer"));
        assert!(err("region=r,audience=a,signing_algorithm=es384").contains("ES384 or RS256"));
        assert!(err("region=r,audience=a,aws_debug=verbose").contains("none or console"));
        assert!(err("region=r,audience=a,bogus=1").contains("unknown key \"bogus\""));
        assert!(err("region=r,audience=a,novalue").contains("malformed entry"));
        assert!(err("region=r,audience=a,=x").contains("malformed entry"));
        assert!(err("region=r,audience=a,tag_=x").contains("empty name"));
        assert!(err("region=r,audience=a,sts_endpoint=localhost")
            .contains("'sts_endpoint' must be an http"));
        let long = format!("region=r,audience={}", "a".repeat(1001));
        assert!(err(&long).contains("1 to 1000"));
        let tags: String = (0..51).map(|i| format!(",tag_t{i}=v")).collect();
        assert!(err(&format!("region=r,audience=a{tags}")).contains("at most 50"));
    }

    #[test]
    fn a_later_duplicate_replaces_an_invalid_value() {
        // Range and allowed values are checked on the value that wins, as
        // Confluent's parser does; syntax is checked on every occurrence.
        let c = ok(
            "region=r,audience=a,duration_seconds=5,duration_seconds=600,signing_algorithm=es384,\
                    signing_algorithm=RS256,aws_debug=verbose,aws_debug=none",
        );
        assert_eq!(c.duration_seconds, 600);
        assert_eq!(c.signing_algorithm, SigningAlgorithm::Rs256);
        assert!(
            err("region=r,audience=a,duration_seconds=x,duration_seconds=600")
                .contains("must be an integer")
        );
        assert!(
            err("region=r,audience=a,duration_seconds=600,duration_seconds=5")
                .contains("between 60 and 3600")
        );
    }

    #[test]
    fn duration_reads_like_python_int() {
        assert_eq!(
            ok("region=r,audience=a,duration_seconds= +3_600").duration_seconds,
            3600
        );
        assert!(Config::parse("region=r,audience=a,duration_seconds=3__600", "").is_err());
        assert!(Config::parse("region=r,audience=a,duration_seconds=-60", "").is_err());
        assert!(Config::parse("region=r,audience=a,duration_seconds=0x3c", "").is_err());
    }

    #[test]
    fn case_of_values() {
        assert_eq!(
            ok("region=r,audience=a,aws_debug=CONSOLE").aws_debug,
            AwsDebug::Console
        );
        assert!(Config::parse("region=r,audience=a,signing_algorithm=rs256", "").is_err());
    }

    #[test]
    fn extensions_are_checked() {
        let c = Config::parse(
            "region=r,audience=a",
            "logicalCluster=lkc-1,identityPoolId=pool-1",
        )
        .unwrap();
        assert_eq!(c.extensions.get("logicalCluster").unwrap(), "lkc-1");
        for bad in ["auth=x", "key1=x", "k-e-y=x", "novalue"] {
            let e = Config::parse("region=r,audience=a", bad).unwrap_err();
            assert!(e.message().contains(EXTENSIONS_KEY), "{bad}: {e}");
        }
    }

    #[test]
    fn own_keys() {
        let c = ok("region=r,audience=a,role_arn=arn:aws:iam::1:role/x,role_session_name=kafka,principal_claim=sub");
        assert_eq!(c.role_arn.as_deref(), Some("arn:aws:iam::1:role/x"));
        assert!(err("region=r,audience=a,external_id=abc").contains("need 'role_arn'"));
        assert!(err("region=r,audience=a,role_arn=role/x").contains("IAM role ARN"));
    }

    #[test]
    fn huge_input_is_refused() {
        let s = "a".repeat(MAX_INPUT_LEN + 1);
        assert!(Config::parse(&s, "")
            .unwrap_err()
            .message()
            .contains("at most"));
    }

    #[test]
    fn readme_table_is_the_key_table() {
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"),
        )
        .expect("README.md");
        let section = readme
            .split("\n## ")
            .find(|s| s.starts_with("Configuration"))
            .expect("README has a '## Configuration' section");
        let table: String = section
            .lines()
            .skip_while(|l| !l.starts_with("| key |"))
            .take_while(|l| l.starts_with('|'))
            .map(|l| format!("{l}\n"))
            .collect();
        let expected = keys::readme_table();
        assert!(
            table == expected,
            "README.md's configuration table differs from config::KEYS; paste this:\n\n{expected}"
        );
        // And, said plainly: every key with its default, nothing else.
        for k in KEYS {
            let row = format!("| `{}` |", k.display_name());
            let line = table.lines().find(|l| l.starts_with(&row)).expect(&row);
            let default = k.default.map(|d| format!("`{d}`")).unwrap_or("—".into());
            assert!(line.contains(&format!(" | {default} | ")), "{line}");
        }
        assert_eq!(table.lines().count(), KEYS.len() + 2);
    }

    #[test]
    fn table_defaults_are_what_parse_fills_in() {
        let c = ok("region=r,audience=a");
        let effective: BTreeMap<_, _> = c.effective().into_iter().collect();
        for k in KEYS.iter().filter(|k| k.requires.is_none()) {
            assert_eq!(
                effective.get(k.name).map(String::as_str),
                k.default.or(match k.name {
                    "region" => Some("r"),
                    "audience" => Some("a"),
                    _ => None,
                }),
                "{}",
                k.name
            );
        }
        assert_eq!(
            keys::default_of("duration_seconds"),
            Some(DEFAULT_DURATION_SECONDS.to_string().as_str())
        );
    }

    #[test]
    fn role_session_name_default_applies_only_with_role_arn() {
        assert_eq!(ok("region=r,audience=a").role_session_name, None);
        let c = ok("region=r,audience=a,role_arn=arn:aws:iam::1:role/x");
        assert_eq!(c.role_session_name.as_deref(), Some("kafka-iam-oauth"));
        // Same effective config, so the same cache entry.
        assert_eq!(
            c,
            ok("region=r,audience=a,role_arn=arn:aws:iam::1:role/x,role_session_name=kafka-iam-oauth")
        );
        assert!(err("region=r,audience=a,role_session_name=abc").contains("need 'role_arn'"));
    }

    #[test]
    fn unknown_key_message_lists_every_key_from_the_table() {
        let e = err("region=r,audience=a,bogus=1");
        for k in KEYS {
            assert!(e.contains(&k.display_name()), "{e}");
        }
        assert!(e.contains("Allowed keys: region, audience,"), "{e}");
        assert!(err("region=r,audience=a,TAG_x=1").contains("unknown key \"TAG_x\""));
    }

    #[test]
    fn debug_shows_redacted_keys_only_as_set() {
        let c = ok("region=r,audience=a,role_arn=arn:aws:iam::1:role/x,external_id=very-secret-id");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("very-secret-id"), "{dbg}");
        assert!(dbg.contains("external_id: Some(\"<set>\")"), "{dbg}");
        assert!(dbg.contains("region: Some(\"r\")"), "{dbg}");
        // A rejected redacted value is not echoed either.
        let e = err("region=r,audience=a,role_arn=arn:aws:iam::1:role/x,external_id=x");
        assert!(
            e.contains("'external_id' must be 2 to 1224 characters"),
            "{e}"
        );
        assert!(KEYS.iter().filter(|k| k.redacted).all(|k| k.ours));
    }

    #[test]
    fn more_audiences_are_numbered_keys() {
        let c = ok("region=r,audience=kafka,audience_3=c,audience_2=rest\\,proxy");
        assert_eq!(
            c.audiences().collect::<Vec<_>>(),
            ["kafka", "rest,proxy", "c"]
        );
        // Written back in order, escapes included, and read back equal.
        let again = ok(&config_string(c.effective()));
        assert_eq!(again, c);
        assert!(config_string(c.effective()).contains("audience_2=rest\\,proxy,audience_3=c"));
        let c = ok(&format!(
            "region=r,audience=a1{}",
            (2..=10)
                .map(|n| format!(",audience_{n}=a{n}"))
                .collect::<String>()
        ));
        assert_eq!(c.audiences().count(), MAX_AUDIENCES);
        for (bad, says) in [
            ("audience_11=x", "audience_2 ... audience_10"),
            ("audience_1=x", "audience_2 ... audience_10"),
            ("audience_02=x", "audience_2 ... audience_10"),
            ("audience_x=x", "audience_2 ... audience_10"),
            ("audience_=x", "audience_2 ... audience_10"),
            ("audience_2=", "'audience_2' must not be empty"),
            ("audience_2=a", "given twice"),
            ("audience_2=b,audience_3=b", "given twice"),
        ] {
            let e = err(&format!("region=r,audience=a,{bad}"));
            assert!(e.contains(says), "{bad}: {e}");
        }
        let long = "x".repeat(MAX_AUDIENCE_LEN + 1);
        let e = err(&format!("region=r,audience=a,audience_2={long}"));
        assert!(
            e.contains("'audience_2' must be 1 to 1000 characters"),
            "{e}"
        );
        // One audience is still the plain string Confluent's grammar reads.
        assert!(ok("region=r,audience=a").extra_audiences.is_empty());
    }

    #[test]
    fn subject_mode_values() {
        assert_eq!(ok("region=r,audience=a").subject_mode, SubjectMode::Caller);
        let c = ok("region=r,audience=a,subject_mode=Origin_Identity");
        assert_eq!(c.subject_mode, SubjectMode::OriginIdentity);
        assert_eq!(c.subject_mode.sts_value(), "OriginIdentity");
        let e = err("region=r,audience=a,subject_mode=origin");
        assert!(
            e.contains("'subject_mode' must be caller or origin_identity"),
            "{e}"
        );
    }

    #[test]
    fn effective_follows_the_table_order() {
        let c = ok("tag_b=2,tag_a=1,sts_endpoint=http://127.0.0.1:1,region=r,audience=a");
        let keys: Vec<String> = c.effective().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "region",
                "audience",
                "duration_seconds",
                "signing_algorithm",
                "sts_endpoint",
                "aws_debug",
                "tag_a",
                "tag_b",
                "principal_claim",
                "subject_mode",
                "mint_timeout_seconds",
                "allow_insecure_http"
            ]
        );
    }

    #[test]
    fn sts_endpoint_must_be_an_http_url_with_a_host() {
        for good in [
            "http://127.0.0.1:4566",
            "https://sts-fips.us-east-1.amazonaws.com",
            "https://vpce-1.sts.eu-west-1.vpce.amazonaws.com/",
            "http://[::1]:8080/path?q=1",
        ] {
            assert_eq!(
                ok(&format!("region=r,audience=a,sts_endpoint={good}"))
                    .sts_endpoint
                    .as_deref(),
                Some(good)
            );
        }
        for bad in [
            "localhost",
            "ftp://x",
            "http://",
            "http:x",
            "HTTP://x",
            "http://a b",
            "http://a\\tb",
            "https://exa<mple.com",
            "http://:80",
        ] {
            let e = err(&format!("region=r,audience=a,sts_endpoint={bad}"));
            assert!(
                e.contains("'sts_endpoint' must be an http:// or https:// URL"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn sts_endpoint_with_user_info_is_refused_without_echoing_it() {
        for bad in [
            "https://user:hunter2-password@sts.eu-west-1.amazonaws.com",
            "http://user:hunter2-password@127.0.0.1:4566",
            "https://user:hunter2 password@sts.amazonaws.com/x",
            "https://hunter2-password@sts.amazonaws.com",
        ] {
            for config in [
                format!("region=r,audience=a,sts_endpoint={bad}"),
                // A later valid value wins, but every value is syntax-checked:
                // the refused one is not echoed either way.
                format!("region=r,audience=a,sts_endpoint={bad},sts_endpoint=x"),
            ] {
                let e = err(&config);
                assert!(!e.contains("hunter2"), "{e}");
            }
            let e = err(&format!("region=r,audience=a,sts_endpoint={bad}"));
            assert!(e.contains("must not contain user info"), "{e}");
        }
        // An '@' in the path is not user info.
        ok("region=r,audience=a,sts_endpoint=https://sts.amazonaws.com/a@b");
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for loopback in [
            "http://127.0.0.1:4566",
            "http://127.9.8.7",
            "http://[::1]:80/",
            "http://localhost:8080",
            "http://LOCALHOST",
        ] {
            ok(&format!("region=r,audience=a,sts_endpoint={loopback}"));
        }
        for remote in [
            "http://sts.eu-west-1.amazonaws.com",
            "http://10.0.0.1:4566",
            "http://[2001:db8::1]/",
            "http://localhost.example.com",
        ] {
            let e = err(&format!("region=r,audience=a,sts_endpoint={remote}"));
            assert!(e.contains("allow_insecure_http=true"), "{remote}: {e}");
            let c = ok(&format!(
                "region=r,audience=a,sts_endpoint={remote},allow_insecure_http=TRUE"
            ));
            assert!(c.allow_insecure_http);
        }
        ok("region=r,audience=a,sts_endpoint=https://sts.eu-west-1.amazonaws.com");
        assert!(err("region=r,audience=a,allow_insecure_http=yes").contains("true or false"));
    }

    #[test]
    fn mint_timeout_has_a_default_and_bounds() {
        let c = ok("region=r,audience=a");
        assert_eq!(c.mint_timeout(), std::time::Duration::from_secs(6));
        // The default stays under the callers' default wait, so a caller
        // sees the mint's own error (what hung) rather than its timeout.
        assert!(c.mint_timeout() < crate::DEFAULT_TIMEOUT);
        assert_eq!(
            ok("region=r,audience=a,mint_timeout_seconds=2").mint_timeout_seconds,
            2
        );
        for bad in ["0", "301", "-1", "x"] {
            let e = err(&format!("region=r,audience=a,mint_timeout_seconds={bad}"));
            assert!(e.contains("'mint_timeout_seconds' must be"), "{bad}: {e}");
        }
    }

    #[test]
    fn escape_value_round_trips_through_the_grammar() {
        let samples = [
            "kafka",
            "a,b",
            "a\\b",
            "a\\,b",
            "\\",
            ",",
            ",,",
            "\\\\,",
            "a=b=c",
            "=",
            " leading space",
            "  two",
            "\tleading tab",
            "\nleading newline",
            "\x0bvt",
            "\x0cff",
            "in\tside",
            "in\nside\r\n!",
            "in side",
            "käfka ☃",
            "\u{a0}nbsp",
            "a\\tb",
            "\\n",
            "\0nul",
            "x\0",
            "\\0",
        ];
        let generated = (0u32..2000).map(|i| {
            // Every short string over an alphabet of the tricky characters.
            let alphabet = ['a', ',', '\\', ' ', '\t', '=', 'n', '\n'];
            let mut s = String::new();
            let mut n = i;
            loop {
                s.push(alphabet[(n % 8) as usize]);
                n /= 8;
                if n == 0 {
                    break;
                }
            }
            s
        });
        let mut checked = 0;
        for s in samples.iter().map(|s| s.to_string()).chain(generated) {
            // The grammar cannot carry trailing whitespace or an empty value.
            if s.is_empty() || s.ends_with(grammar::is_c_space) {
                continue;
            }
            let config = config_string([("region", "r"), ("audience", s.as_str())]);
            assert_eq!(ok(&config).audience, s, "{config:?}");
            checked += 1;
        }
        assert!(checked > 1000);
    }
}
