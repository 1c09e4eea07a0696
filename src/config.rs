//! Parsing of `sasl.oauthbearer.config` and `sasl.oauthbearer.extensions`.
//!
//! The grammar is librdkafka's (`rd_string_split` + `rd_kafka_conf_kv_split`),
//! and the accepted keys and their checks follow the parser that
//! confluent-kafka-python ships for its AWS IAM path, so a config string that
//! works there works here unchanged. Our own additional keys are listed in
//! [`OWN_KEYS`]; the parity test in `tests/python/test_config_parity.py` feeds
//! the same strings to both parsers.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;

/// The config property this string comes from (used in messages).
pub const CONFIG_KEY: &str = "sasl.oauthbearer.config";
/// The extensions property (used in messages).
pub const EXTENSIONS_KEY: &str = "sasl.oauthbearer.extensions";
/// Token lifetime bounds STS allows, and our default.
pub const MIN_DURATION_SECONDS: u32 = 60;
/// Upper bound of `duration_seconds`.
pub const MAX_DURATION_SECONDS: u32 = 3600;
/// Default `duration_seconds`.
pub const DEFAULT_DURATION_SECONDS: u32 = 300;
/// At most this many `tag_<name>` keys (an STS limit).
pub const MAX_TAGS: usize = 50;
/// STS limit on the audience length.
pub const MAX_AUDIENCE_LEN: usize = 1000;
/// Inputs longer than this are refused before parsing.
pub const MAX_INPUT_LEN: usize = 64 * 1024;

/// Keys this library accepts beyond Confluent's AWS grammar.
pub const OWN_KEYS: &[&str] = &[
    "profile",
    "role_arn",
    "role_session_name",
    "external_id",
    "principal_claim",
];

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
    /// The `aud` claim to request.
    pub audience: String,
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
    /// SASL extensions sent with the token, from `sasl.oauthbearer.extensions`.
    pub extensions: BTreeMap<String, String>,
}

impl fmt::Debug for Config {
    // Nothing here is secret, but external_id is a shared value some treat
    // as sensitive: show only whether it is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("region", &self.region)
            .field("audience", &self.audience)
            .field("duration_seconds", &self.duration_seconds)
            .field("signing_algorithm", &self.signing_algorithm.as_str())
            .field("sts_endpoint", &self.sts_endpoint)
            .field("aws_debug", &self.aws_debug.as_str())
            .field("tags", &self.tags)
            .field("profile", &self.profile)
            .field("role_arn", &self.role_arn)
            .field("role_session_name", &self.role_session_name)
            .field("external_id", &self.external_id.as_ref().map(|_| "<set>"))
            .field("principal_claim", &self.principal_claim)
            .field("extensions", &self.extensions)
            .finish()
    }
}

impl Config {
    /// Parses and validates a `sasl.oauthbearer.config` string and an
    /// optional `sasl.oauthbearer.extensions` string (empty = none).
    /// Makes no network call.
    pub fn parse(config: &str, extensions: &str) -> Result<Config> {
        check_len(CONFIG_KEY, config)?;
        check_len(EXTENSIONS_KEY, extensions)?;
        let mut region = None;
        let mut audience = None;
        // Like Confluent's parser, values that may be overridden by a later
        // duplicate are range/enum-checked after the loop (last wins);
        // syntax (integer, non-empty) is checked on every occurrence.
        let mut duration: Option<(u128, String)> = None;
        let mut signing_algorithm_raw: Option<String> = None;
        let mut sts_endpoint: Option<String> = None;
        let mut aws_debug_raw: Option<String> = None;
        let mut tags = BTreeMap::new();
        let mut profile = None;
        let mut role_arn = None;
        let mut role_session_name = None;
        let mut external_id = None;
        let mut principal_claim = "sub".to_string();

        for (key, value) in parse_key_values(config, CONFIG_KEY)? {
            let non_empty = |allowed: &str| -> Result<String> {
                if value.is_empty() {
                    Err(Error::config(format!(
                        "{CONFIG_KEY}: '{key}' must not be empty; expected {allowed}."
                    )))
                } else {
                    Ok(value.clone())
                }
            };
            match key.as_str() {
                "region" => region = Some(non_empty("an AWS region such as eu-west-1")?),
                "audience" => audience = Some(non_empty("1 to 1000 characters")?),
                "duration_seconds" => duration = Some((parse_int(&value)?, value.clone())),
                "signing_algorithm" => signing_algorithm_raw = Some(non_empty("ES384 or RS256")?),
                "sts_endpoint" => sts_endpoint = Some(non_empty("an http:// or https:// URL")?),
                // Case-insensitive, like Confluent's parser.
                "aws_debug" => aws_debug_raw = Some(non_empty("none or console")?.to_lowercase()),
                "profile" => profile = Some(non_empty("the name of an AWS profile")?),
                "role_arn" => {
                    let v = non_empty("an IAM role ARN")?;
                    if !(v.starts_with("arn:") && v.contains(":role/")) {
                        return Err(Error::config(format!(
                            "{CONFIG_KEY}: 'role_arn' must be an IAM role ARN like arn:aws:iam::123456789012:role/name; got {v:?}."
                        )));
                    }
                    role_arn = Some(v);
                }
                "role_session_name" => {
                    let v = non_empty("2 to 64 characters of [A-Za-z0-9+=,.@-]")?;
                    let ok_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c);
                    if !(2..=64).contains(&v.len()) || !v.chars().all(ok_char) {
                        return Err(Error::config(format!(
                            "{CONFIG_KEY}: 'role_session_name' must be 2 to 64 characters of letters, digits and +=,.@-_; got {v:?}."
                        )));
                    }
                    role_session_name = Some(v);
                }
                "external_id" => {
                    let v = non_empty("2 to 1224 characters")?;
                    if !(2..=1224).contains(&v.len()) {
                        return Err(Error::config(format!(
                            "{CONFIG_KEY}: 'external_id' must be 2 to 1224 characters long; got {} characters.",
                            v.len()
                        )));
                    }
                    external_id = Some(v);
                }
                "principal_claim" => principal_claim = non_empty("a JWT claim name such as sub")?,
                k => {
                    if let Some(name) = k.strip_prefix("tag_") {
                        if name.is_empty() {
                            return Err(Error::config(format!(
                                "{CONFIG_KEY}: tag key 'tag_' has an empty name; write tag_<name>=<value>."
                            )));
                        }
                        tags.insert(name.to_string(), value.clone());
                    } else {
                        return Err(Error::config(format!(
                            "{CONFIG_KEY}: unknown key {k:?}. Allowed keys: region, audience, duration_seconds, \
                             signing_algorithm, sts_endpoint, aws_debug, tag_<name>, profile, role_arn, \
                             role_session_name, external_id, principal_claim."
                        )));
                    }
                }
            }
        }

        let region = region.ok_or_else(|| {
            Error::config(format!(
                "{CONFIG_KEY}: 'region' is required (e.g. region=eu-west-1); GetWebIdentityToken is served by regional STS endpoints only."
            ))
        })?;
        let audience = audience.ok_or_else(|| {
            Error::config(format!(
                "{CONFIG_KEY}: 'audience' is required: the audience your Kafka broker expects (sasl.oauthbearer.expected.audience)."
            ))
        })?;
        if audience.chars().count() > MAX_AUDIENCE_LEN {
            return Err(Error::config(format!(
                "{CONFIG_KEY}: 'audience' is {} characters long; STS allows 1 to {MAX_AUDIENCE_LEN}.",
                audience.chars().count()
            )));
        }
        let duration_seconds = match duration {
            None => DEFAULT_DURATION_SECONDS,
            Some((n, raw)) => check_duration_range(n, &raw)?,
        };
        let signing_algorithm = match signing_algorithm_raw.as_deref() {
            None | Some("ES384") => SigningAlgorithm::Es384,
            Some("RS256") => SigningAlgorithm::Rs256,
            Some(other) => {
                return Err(Error::config(format!(
                    "{CONFIG_KEY}: 'signing_algorithm' must be ES384 or RS256 (upper case); got {other:?}."
                )))
            }
        };
        let aws_debug = match aws_debug_raw.as_deref() {
            None | Some("none") => AwsDebug::None,
            Some("console") => AwsDebug::Console,
            Some(other) => {
                return Err(Error::config(format!(
                    "{CONFIG_KEY}: 'aws_debug' must be none or console; got {other:?}."
                )))
            }
        };
        if let Some(url) = &sts_endpoint {
            check_url(url)?;
        }
        if tags.len() > MAX_TAGS {
            return Err(Error::config(format!(
                "{CONFIG_KEY}: {} tag_<name> keys given; STS allows at most {MAX_TAGS}.",
                tags.len()
            )));
        }
        if role_arn.is_none() && (role_session_name.is_some() || external_id.is_some()) {
            return Err(Error::config(format!(
                "{CONFIG_KEY}: 'role_session_name' and 'external_id' need 'role_arn'."
            )));
        }

        Ok(Config {
            region,
            audience,
            duration_seconds,
            signing_algorithm,
            sts_endpoint,
            aws_debug,
            tags,
            profile,
            role_arn,
            role_session_name,
            external_id,
            principal_claim,
            extensions: parse_extensions(extensions)?,
        })
    }

    /// The effective settings as `(key, value)` pairs, defaults included
    /// (used by `parse_config` in Python and by `aws_debug` logging).
    pub fn effective(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("region".to_string(), self.region.clone()),
            ("audience".to_string(), self.audience.clone()),
            (
                "duration_seconds".to_string(),
                self.duration_seconds.to_string(),
            ),
            (
                "signing_algorithm".to_string(),
                self.signing_algorithm.as_str().to_string(),
            ),
            ("aws_debug".to_string(), self.aws_debug.as_str().to_string()),
            ("principal_claim".to_string(), self.principal_claim.clone()),
        ];
        let optional = [
            ("sts_endpoint", &self.sts_endpoint),
            ("profile", &self.profile),
            ("role_arn", &self.role_arn),
            ("role_session_name", &self.role_session_name),
            ("external_id", &self.external_id),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                out.push((k.to_string(), v.clone()));
            }
        }
        for (k, v) in &self.tags {
            out.push((format!("tag_{k}"), v.clone()));
        }
        out
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

/// Reads `duration_seconds` the way Python's `int()` reads ASCII input
/// (surrounding whitespace, a sign, `_` between digits), for parity with
/// Confluent's parser. The range is checked after last-wins.
fn parse_int(value: &str) -> Result<u128> {
    let bad = || {
        Error::config(format!(
            "{CONFIG_KEY}: 'duration_seconds' must be an integer from {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS}; got {value:?}."
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

fn check_duration_range(n: u128, raw: &str) -> Result<u32> {
    if n < MIN_DURATION_SECONDS as u128 || n > MAX_DURATION_SECONDS as u128 {
        return Err(Error::config(format!(
            "{CONFIG_KEY}: 'duration_seconds' must be between {MIN_DURATION_SECONDS} and {MAX_DURATION_SECONDS} inclusive; got {raw:?}."
        )));
    }
    Ok(n as u32)
}

fn check_url(v: &str) -> Result<()> {
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    let host_ok = rest
        .map(|r| {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !host.contains(char::is_whitespace)
        })
        .unwrap_or(false);
    if !host_ok {
        return Err(Error::config(format!(
            "{CONFIG_KEY}: 'sts_endpoint' must be an http:// or https:// URL with a host, like https://sts-fips.us-east-1.amazonaws.com; got {v:?}."
        )));
    }
    Ok(())
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

/// ASCII `isspace` as librdkafka uses it (space, \t, \n, \v, \f, \r).
fn is_c_space(c: char) -> bool {
    c == ' ' || ('\t'..='\r').contains(&c)
}

/// librdkafka's `rd_string_split` with `skip_empty`: `\` escapes the next
/// character (`\t \n \r \0` map to control characters), unescaped leading
/// whitespace is dropped, trailing whitespace is always dropped.
fn split_fields(raw: &str, sep: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut escaped = false;
    let finish = |field: &mut String, fields: &mut Vec<String>| {
        let trimmed_len = field.trim_end_matches(is_c_space).len();
        field.truncate(trimmed_len);
        if !field.is_empty() {
            fields.push(std::mem::take(field));
        }
    };
    for c in raw.chars() {
        if escaped {
            escaped = false;
            field.push(match c {
                't' => '\t',
                'n' => '\n',
                'r' => '\r',
                '0' => '\0',
                other => other,
            });
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            finish(&mut field, &mut fields);
        } else if field.is_empty() && is_c_space(c) {
            // leading unescaped whitespace
        } else {
            field.push(c);
        }
    }
    finish(&mut field, &mut fields);
    fields
}

/// Splits into fields and each field on its first `=`; a field without `=`
/// or with an empty key is an error. Duplicate keys are returned in order
/// (callers let the last win).
fn parse_key_values(raw: &str, what: &str) -> Result<Vec<(String, String)>> {
    split_fields(raw, ',')
        .into_iter()
        .map(|field| match field.find('=') {
            Some(eq) if eq > 0 => Ok((field[..eq].to_string(), field[eq + 1..].to_string())),
            _ => Err(Error::config(format!(
                "{what}: malformed entry {:?} (expected key=value).",
                field.split('=').next().unwrap_or("")
            ))),
        })
        .collect()
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
}
