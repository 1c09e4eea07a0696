//! `verify [TOKEN|-]`: checks a token the way Apache Kafka's broker
//! (`OAuthBearerValidatorCallbackHandler`, jose4j underneath) does: keys
//! from the JWKS (given, or through OIDC discovery from the issuer), the
//! algorithm (never `none`), `kid`, the signature, `iss`, `aud`, `exp`
//! (required) and `nbf` with the clock skew, `iat` (required), and the
//! subject claim. Every check is shown; the first failure is the verdict.

use crate::jwks::get_json;
use crate::show::{header, payload};
use crate::{rfc3339_secs, CliResult, Common, Failure, Output, Settings, EXIT_FAILED, EXIT_OK};
use clap::Args;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use kafka_iam_oauth::Provider;
use serde_json::{json, Map, Value};
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The algorithms STS signs with.
const ALGORITHMS: [&str; 2] = ["RS256", "ES384"];

#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The JWT, or - to read it from stdin; none: mint one with the configuration
    #[arg(value_name = "TOKEN|-")]
    token: Option<String>,
    /// The issuer the broker expects (sasl.oauthbearer.expected.issuer)
    #[arg(long, value_name = "URL")]
    issuer: String,
    /// The audience the broker expects (sasl.oauthbearer.expected.audience); default: the configuration's when minting
    #[arg(long, value_name = "AUDIENCE")]
    audience: Option<String>,
    /// The broker's sasl.oauthbearer.jwks.endpoint.url (default: jwks_uri from ISSUER/.well-known/openid-configuration)
    #[arg(long, value_name = "URL")]
    jwks: Option<String>,
    /// The broker's sasl.oauthbearer.sub.claim.name
    #[arg(long, value_name = "NAME", default_value = "sub")]
    sub_claim: String,
    /// The broker's sasl.oauthbearer.clock.skew.seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    clock_skew: u64,
    /// Seconds to wait for the discovery document and the JWKS
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    fetch_timeout: u64,
}

/// One check's outcome.
struct Check {
    name: &'static str,
    verdict: &'static str,
    message: String,
}

fn pass(name: &'static str, message: impl Into<String>) -> Check {
    Check {
        name,
        verdict: "pass",
        message: message.into(),
    }
}
fn fail(name: &'static str, message: impl Into<String>) -> Check {
    Check {
        name,
        verdict: "fail",
        message: message.into(),
    }
}
fn skip(name: &'static str, message: impl Into<String>) -> Check {
    Check {
        name,
        verdict: "skip",
        message: message.into(),
    }
}

pub(crate) fn run(out: &Output, common: &Common, args: &VerifyArgs) -> CliResult {
    let (jwt, audience) = match args.token.as_deref() {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Failure::usage(format!("cannot read the token from stdin: {e}")))?;
            (s.trim().to_string(), args.audience.clone())
        }
        Some(t) => (t.trim().to_string(), args.audience.clone()),
        None => {
            let settings = Settings::resolve(common)?;
            let config = settings.parsed()?;
            let audience = args
                .audience
                .clone()
                .or_else(|| Some(config.audience.clone()));
            let token = Provider::from_config(config).token()?;
            (token.value().to_string(), audience)
        }
    };
    let Some(audience) = audience else {
        return Err(Failure::usage(
            "--audience is required when a token is given",
        ));
    };
    let checks = verify(&jwt, &audience, args);
    let failed = checks.iter().find(|c| c.verdict == "fail");
    let code = if failed.is_some() {
        EXIT_FAILED
    } else {
        EXIT_OK
    };
    out.json(&json!({
        "ok": failed.is_none(),
        "exit_code": code,
        "first_failure": failed.map(|c| json!({"check": c.name, "message": c.message})),
        "checks": checks.iter().map(|c| json!({"name": c.name, "verdict": c.verdict, "message": c.message})).collect::<Vec<_>>(),
        "header": header(&jwt),
        "claims": payload(&jwt),
    }));
    for c in &checks {
        out.line(&format!(
            "[{}] {}: {}",
            out.verdict(c.verdict),
            c.name,
            c.message
        ));
    }
    match failed {
        None => out.line(&out.green("the broker would accept this token")),
        Some(c) => out.line(&format!(
            "{}: {}: {}",
            out.red("rejected"),
            c.name,
            c.message
        )),
    }
    Ok(code)
}

/// Every check, in the order the broker makes them.
fn verify(jwt: &str, audience: &str, args: &VerifyArgs) -> Vec<Check> {
    let mut checks = Vec::new();
    let parts: Vec<&str> = jwt.split('.').collect();
    let (Some(head), Some(claims)) = (header(jwt), payload(jwt)) else {
        checks.push(fail(
            "format",
            "not a JWS compact serialisation (header.payload.signature, base64url JSON)",
        ));
        return checks;
    };
    if parts.len() != 3 {
        checks.push(fail(
            "format",
            format!("{} parts, a signed JWT has 3", parts.len()),
        ));
        return checks;
    }
    checks.push(pass("format", "header.payload.signature"));

    let alg = head.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg_ok = ALGORITHMS.contains(&alg);
    checks.push(if alg_ok {
        pass("algorithm", alg)
    } else if alg.eq_ignore_ascii_case("none") {
        fail("algorithm", "alg none: unsigned tokens are refused")
    } else {
        fail(
            "algorithm",
            format!("alg {alg:?}: STS signs with RS256 or ES384"),
        )
    });

    let keys = fetch_keys(args);
    let kid = head.get("kid").and_then(Value::as_str);
    let jwk = match (&keys, kid) {
        (Err(e), _) => {
            checks.push(fail("kid", format!("no keys: {e}")));
            None
        }
        (Ok(_), None) => {
            checks.push(fail("kid", "the header has no kid"));
            None
        }
        (Ok((set, from)), Some(kid)) => match set.find(kid) {
            Some(k) => {
                checks.push(pass("kid", format!("{kid} found in {from}")));
                Some(k.clone())
            }
            None => {
                checks.push(fail("kid", format!("{kid} is not in {from}")));
                None
            }
        },
    };
    checks.push(match (jwk, alg_ok) {
        (Some(jwk), true) => signature(jwt, alg, &jwk),
        _ => skip("signature", "not checked: no usable algorithm and key"),
    });

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64();
    let skew = args.clock_skew as f64;
    checks.push(match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == args.issuer => pass("iss", iss),
        Some(iss) => fail(
            "iss",
            format!("{iss:?}, the broker expects {:?}", args.issuer),
        ),
        None => fail("iss", "missing"),
    });
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    checks.push(if auds.contains(&audience) {
        pass("aud", audience)
    } else {
        fail("aud", format!("{auds:?} does not contain {audience:?}"))
    });
    checks.push(match number(&claims, "exp") {
        None => fail("exp", "missing (the broker requires it)"),
        Some(exp) if now - skew >= exp => fail(
            "exp",
            format!(
                "expired at {} ({} s ago, clock skew {} s)",
                when(exp),
                (now - exp) as i64,
                args.clock_skew
            ),
        ),
        Some(exp) => pass(
            "exp",
            format!("{} (in {} s)", when(exp), (exp - now) as i64),
        ),
    });
    checks.push(match number(&claims, "iat") {
        None => fail("iat", "missing (the broker requires it)"),
        Some(iat) => pass("iat", when(iat)),
    });
    checks.push(match number(&claims, "nbf") {
        None => skip("nbf", "absent"),
        Some(nbf) if now + skew < nbf => fail(
            "nbf",
            format!(
                "not valid before {} (in {} s, clock skew {} s)",
                when(nbf),
                (nbf - now) as i64,
                args.clock_skew
            ),
        ),
        Some(nbf) => pass("nbf", when(nbf)),
    });
    checks.push(match claims.get(&args.sub_claim).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => pass("subject", format!("{} = {s}", args.sub_claim)),
        _ => fail(
            "subject",
            format!(
                "claim {:?} missing or empty (the broker's sasl.oauthbearer.sub.claim.name)",
                args.sub_claim
            ),
        ),
    });
    checks
}

/// A numeric date claim; `None` when absent or not a number.
fn number(claims: &Map<String, Value>, name: &str) -> Option<f64> {
    claims
        .get(name)
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite())
}

fn when(secs: f64) -> String {
    rfc3339_secs(secs).unwrap_or_else(|| format!("{secs}"))
}

/// The signature alone (claims are checked above, one by one).
fn signature(jwt: &str, alg: &str, jwk: &jsonwebtoken::jwk::Jwk) -> Check {
    let algorithm = match alg {
        "RS256" => Algorithm::RS256,
        _ => Algorithm::ES384,
    };
    let key = match DecodingKey::from_jwk(jwk) {
        Ok(k) => k,
        Err(e) => return fail("signature", format!("the JWKS key cannot be used: {e}")),
    };
    let mut validation = Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    match jsonwebtoken::decode::<Value>(jwt, &key, &validation) {
        Ok(_) => pass("signature", format!("valid {alg} signature")),
        Err(e) => fail("signature", format!("invalid: {e}")),
    }
}

/// The JWKS, from `--jwks` or the issuer's discovery document, and where
/// it came from.
fn fetch_keys(args: &VerifyArgs) -> Result<(JwkSet, String), String> {
    let timeout = Duration::from_secs(args.fetch_timeout.max(1));
    let url = match &args.jwks {
        Some(u) => u.clone(),
        None => {
            let discovery = format!(
                "{}/.well-known/openid-configuration",
                args.issuer.trim_end_matches('/')
            );
            let doc = get_json(&discovery, timeout)?;
            doc.get("jwks_uri")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{discovery} has no jwks_uri"))?
                .to_string()
        }
    };
    let value = get_json(&url, timeout)?;
    let set: JwkSet =
        serde_json::from_value(value).map_err(|e| format!("{url}: not a JWK Set ({e})"))?;
    Ok((set, url))
}
