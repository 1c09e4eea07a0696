//! The one table of `sasl.oauthbearer.config` keys, modelled on librdkafka's
//! `rd_kafka_properties[]`: each key's name, type and check, default, doc
//! line and origin (Confluent's AWS grammar or ours) live here once.
//! Parsing, the "allowed keys" message, [`Config::effective`],
//! `Debug` redaction and the README check all read it.
//!
//! [`Config::effective`]: super::Config::effective

use super::{AwsDebug, Config, SigningAlgorithm, SubjectMode, MAX_AUDIENCE_LEN};
use super::{MAX_DURATION_SECONDS, MIN_DURATION_SECONDS};
use super::{MAX_MINT_TIMEOUT_SECONDS, MIN_MINT_TIMEOUT_SECONDS};

/// How a key's value is checked.
///
/// Confluent's keys are checked the way confluent-kafka-python's parser
/// checks them: syntax (non-empty, integer) on every occurrence, range and
/// allowed values on the value that wins (the last). Our own keys are
/// checked in full on every occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// Any non-empty text.
    Text,
    /// Non-empty text of `min..=max` characters.
    Chars {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// An integer in `min..=max`, read like Python's `int()` on ASCII.
    Integer {
        /// Smallest value.
        min: u32,
        /// Largest value.
        max: u32,
    },
    /// One of `values`; with `ignore_case` the value is lower-cased first.
    OneOf {
        /// The allowed values (as written in the config).
        values: &'static [&'static str],
        /// Whether `Console` means `console`.
        ignore_case: bool,
    },
    /// An `http://` or `https://` URL with a host.
    HttpUrl,
    /// An IAM role ARN (`arn:...:role/...`).
    RoleArn,
    /// An STS role session name: 2 to 64 of `[A-Za-z0-9+=,.@_-]`.
    SessionName,
    /// Any text, empty included (tag values).
    AnyText,
}

/// One config key.
///
/// The fields a binding needs are public; the accessors that move a value
/// in and out of [`Config`] are private to this crate.
#[derive(Clone, Copy)]
pub struct Key {
    /// The key as written in the config string. For a prefix key
    /// (`prefix == true`) the part before the user-chosen name: `tag_`.
    pub name: &'static str,
    /// Whether `name` is a prefix (`tag_<name>=value`).
    pub prefix: bool,
    /// What docs and messages write after a prefix key's `name`:
    /// `<name>` (`tag_<name>`), `<N>` (`audience_<N>`).
    pub placeholder: &'static str,
    /// Our own key (`true`) or one of Confluent's AWS grammar (`false`).
    pub ours: bool,
    /// Whether the key must be given.
    pub required: bool,
    /// The value used when the key is not given (`None`: no value).
    pub default: Option<&'static str>,
    /// How the value is checked.
    pub rule: Rule,
    /// What is allowed, in words; error messages say "expected `allowed`".
    pub allowed: &'static str,
    /// One line for the docs.
    pub doc: &'static str,
    /// `Debug` shows only whether it is set.
    pub redacted: bool,
    /// The key that must also be given for this one to apply.
    pub requires: Option<&'static str>,
    /// Extra words for the "is required" message.
    pub(crate) required_hint: &'static str,
    /// Stores a checked (normalised) value.
    pub(crate) set: fn(&mut Config, String),
    /// The effective value, if any (not used for prefix keys).
    pub(crate) get: fn(&Config) -> Option<String>,
}

impl Key {
    /// The key as users see it in docs and messages: `tag_<name>` for the
    /// prefix key, else `name`.
    pub fn display_name(&self) -> String {
        if self.prefix {
            format!("{}{}", self.name, self.placeholder)
        } else {
            self.name.to_string()
        }
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("ours", &self.ours)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

/// The prefix key of the audiences after the first (`audience_2`, ...).
pub(crate) const AUDIENCE_PREFIX: &str = "audience_";

/// The table itself (a template for the common fields).
const BASE: Key = Key {
    name: "",
    prefix: false,
    placeholder: "<name>",
    ours: false,
    required: false,
    default: None,
    rule: Rule::Text,
    allowed: "",
    doc: "",
    redacted: false,
    requires: None,
    required_hint: "",
    set: |_, _| {},
    get: |_| None,
};

/// Every key `sasl.oauthbearer.config` accepts, Confluent's first, in the
/// order the docs list them.
pub static KEYS: &[Key] = &[
    Key {
        name: "region",
        required: true,
        allowed: "an AWS region such as eu-west-1",
        doc: "AWS region whose STS endpoint mints the token (GetWebIdentityToken is regional only)",
        required_hint: " (e.g. region=eu-west-1); GetWebIdentityToken is served by regional STS endpoints only",
        set: |c, v| c.region = v,
        get: |c| Some(c.region.clone()),
        ..BASE
    },
    Key {
        name: "audience",
        required: true,
        rule: Rule::Chars { min: 1, max: MAX_AUDIENCE_LEN },
        allowed: "1 to 1000 characters",
        doc: "the `aud` claim: the audience your broker expects (sasl.oauthbearer.expected.audience)",
        required_hint: ": the audience your Kafka broker expects (sasl.oauthbearer.expected.audience)",
        set: |c, v| c.audience = v,
        get: |c| Some(c.audience.clone()),
        ..BASE
    },
    Key {
        name: "duration_seconds",
        default: Some("300"),
        rule: Rule::Integer { min: MIN_DURATION_SECONDS, max: MAX_DURATION_SECONDS },
        allowed: "an integer from 60 to 3600",
        doc: "requested token lifetime in seconds (capped so it never outlives the signing credentials)",
        // Checked before it is stored, so it always parses.
        set: |c, v| c.duration_seconds = v.parse().unwrap_or(c.duration_seconds),
        get: |c| Some(c.duration_seconds.to_string()),
        ..BASE
    },
    Key {
        name: "signing_algorithm",
        default: Some("ES384"),
        rule: Rule::OneOf { values: &["ES384", "RS256"], ignore_case: false },
        allowed: "ES384 or RS256 (upper case)",
        doc: "JWT signing algorithm STS uses",
        set: |c, v| {
            c.signing_algorithm = if v == "RS256" { SigningAlgorithm::Rs256 } else { SigningAlgorithm::Es384 }
        },
        get: |c| Some(c.signing_algorithm.as_str().to_string()),
        ..BASE
    },
    Key {
        name: "sts_endpoint",
        rule: Rule::HttpUrl,
        allowed: "an http:// or https:// URL with a host and no user:password@, like https://sts-fips.us-east-1.amazonaws.com",
        doc: "STS endpoint override (FIPS, VPC endpoint, local emulator); unset: the SDK's regional endpoint. \
              Plain http:// only to loopback unless `allow_insecure_http=true`",
        set: |c, v| c.sts_endpoint = Some(v),
        get: |c| c.sts_endpoint.clone(),
        ..BASE
    },
    Key {
        name: "aws_debug",
        default: Some("none"),
        rule: Rule::OneOf { values: &["none", "console"], ignore_case: true },
        allowed: "none or console",
        doc: "`console`: credential source and STS calls on stderr (never secrets)",
        set: |c, v| c.aws_debug = if v == "console" { AwsDebug::Console } else { AwsDebug::None },
        get: |c| Some(c.aws_debug.as_str().to_string()),
        ..BASE
    },
    Key {
        name: "tag_",
        prefix: true,
        rule: Rule::AnyText,
        allowed: "any value; at most 50 tags",
        doc: "`tag_team=payments` becomes the STS request tag team=payments",
        // Prefix keys are stored by the parser into `Config::tags`.
        ..BASE
    },
    Key {
        name: "profile",
        ours: true,
        allowed: "the name of an AWS profile",
        doc: "named AWS profile (profiles that assume a role included); unset: AWS_PROFILE or default",
        set: |c, v| c.profile = Some(v),
        get: |c| c.profile.clone(),
        ..BASE
    },
    Key {
        name: "role_arn",
        ours: true,
        rule: Rule::RoleArn,
        allowed: "an IAM role ARN like arn:aws:iam::123456789012:role/name",
        doc: "IAM role to assume before minting",
        set: |c, v| c.role_arn = Some(v),
        get: |c| c.role_arn.clone(),
        ..BASE
    },
    Key {
        name: "role_session_name",
        ours: true,
        default: Some("kafka-iam-oauth"),
        rule: Rule::SessionName,
        allowed: "2 to 64 characters of letters, digits and +=,.@-_",
        doc: "session name for `role_arn` (fixed, so the assumed-role identity is stable)",
        requires: Some("role_arn"),
        set: |c, v| c.role_session_name = Some(v),
        get: |c| c.role_session_name.clone(),
        ..BASE
    },
    Key {
        name: "external_id",
        ours: true,
        rule: Rule::Chars { min: 2, max: 1224 },
        allowed: "2 to 1224 characters",
        doc: "external id for `role_arn`",
        redacted: true,
        requires: Some("role_arn"),
        set: |c, v| c.external_id = Some(v),
        get: |c| c.external_id.clone(),
        ..BASE
    },
    Key {
        name: "principal_claim",
        ours: true,
        default: Some("sub"),
        allowed: "a JWT claim name such as sub, or a namespaced AWS claim such as https://sts.amazonaws.com/principal_id",
        doc: "JWT claim used as the Kafka principal (the broker's sasl.oauthbearer.sub.claim.name); \
              `https://sts.amazonaws.com/<name>` reads `<name>` inside STS's namespace claim",
        set: |c, v| c.principal_claim = v,
        get: |c| Some(c.principal_claim.clone()),
        ..BASE
    },
    Key {
        name: AUDIENCE_PREFIX,
        prefix: true,
        ours: true,
        rule: Rule::Chars { min: 1, max: MAX_AUDIENCE_LEN },
        allowed: "N from 2 to 10 (`audience_2` ... `audience_10`), each value 1 to 1000 characters",
        doc: "more audiences for the same token (`aud` becomes a list; STS takes 1 to 10): \
              `audience=kafka,audience_2=restproxy`. Ours: Confluent's grammar has one `audience`",
        placeholder: "<N>",
        // Prefix keys are stored by the parser into `Config::extra_audiences`.
        ..BASE
    },
    Key {
        name: "subject_mode",
        ours: true,
        default: Some("caller"),
        rule: Rule::OneOf { values: &["caller", "origin_identity"], ignore_case: true },
        allowed: "caller or origin_identity",
        doc: "`origin_identity`: the token's `sub` is the user or workload the session acts for (STS `SubjectMode=OriginIdentity`; \
              the caller's ARN moves to `https://sts.amazonaws.com/principal_id`), so the broker authorizes that subject",
        set: |c, v| {
            c.subject_mode = if v == "origin_identity" { SubjectMode::OriginIdentity } else { SubjectMode::Caller }
        },
        get: |c| Some(c.subject_mode.as_str().to_string()),
        ..BASE
    },
    Key {
        name: "mint_timeout_seconds",
        ours: true,
        default: Some("6"),
        rule: Rule::Integer { min: MIN_MINT_TIMEOUT_SECONDS, max: MAX_MINT_TIMEOUT_SECONDS },
        allowed: "an integer from 1 to 300",
        doc: "deadline of one mint (credentials, STS call and its retries); a hung credential_process is killed at it. \
              Keep it under the caller's wait (8 s by default) so callers see what hung",
        // Checked before it is stored, so it always parses.
        set: |c, v| c.mint_timeout_seconds = v.parse().unwrap_or(c.mint_timeout_seconds),
        get: |c| Some(c.mint_timeout_seconds.to_string()),
        ..BASE
    },
    Key {
        name: "allow_insecure_http",
        ours: true,
        default: Some("false"),
        rule: Rule::OneOf { values: &["true", "false"], ignore_case: true },
        allowed: "true or false",
        doc: "`true` allows a plain http:// `sts_endpoint` off loopback (the signed request and the token travel in clear text); \
              loopback (127.0.0.0/8, ::1, localhost) is always allowed",
        set: |c, v| c.allow_insecure_http = v == "true",
        get: |c| Some(c.allow_insecure_http.to_string()),
        ..BASE
    },
];

/// The entry for `key` as written in a config string (`tag_x` finds the
/// `tag_` prefix entry), with the user-chosen name of a prefix key.
pub(crate) fn lookup(key: &str) -> Option<(usize, &'static Key, &str)> {
    KEYS.iter().enumerate().find_map(|(i, k)| {
        if k.prefix {
            key.strip_prefix(k.name).map(|rest| (i, k, rest))
        } else {
            (key == k.name).then_some((i, k, ""))
        }
    })
}

/// "region, audience, ..., tag_<name>, ...": for the unknown-key message.
pub(crate) fn allowed_list() -> String {
    KEYS.iter()
        .map(Key::display_name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The default of the (non-prefix) key `name`, for code outside the parser
/// that needs it when a `Config` was built by hand.
pub(crate) fn default_of(name: &str) -> Option<&'static str> {
    KEYS.iter()
        .find(|k| !k.prefix && k.name == name)
        .and_then(|k| k.default)
}

/// The README's configuration table, rendered from [`KEYS`]. A unit test
/// keeps README.md equal to it.
#[cfg(test)]
pub(crate) fn readme_table() -> String {
    let mut out = String::from(
        "| key | from | required | default | valid | what it does |\n|---|---|---|---|---|---|\n",
    );
    for k in KEYS {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            k.display_name(),
            if k.ours { "ours" } else { "Confluent" },
            if k.required { "yes" } else { "no" },
            k.default
                .map(|d| format!("`{d}`"))
                .unwrap_or_else(|| "—".into()),
            k.allowed,
            k.doc,
        ));
    }
    out
}
