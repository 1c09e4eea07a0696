//! AWS Signature Version 4 verification (header form,
//! `Authorization: AWS4-HMAC-SHA256 ...`), written from the published
//! algorithm: canonical request, string to sign, derived key, HMAC.

use crate::clock;
use crate::xml::StsError;
use hmac::{Hmac, Mac};
use hyper::HeaderMap;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Requests whose `X-Amz-Date` is further than this from now are refused.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Access key id from the credential scope.
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub date: String,
    /// Region of the credential scope (any region is accepted).
    pub region: String,
    /// Service of the credential scope (must be `sts`).
    pub service: String,
    /// `SignedHeaders=` exactly as sent (lowercase names joined by `;`).
    pub signed_headers: String,
    /// `Signature=` (lowercase hex).
    pub signature: String,
}

impl Authorization {
    fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// The parts of an HTTP request that SigV4 covers.
pub struct Request<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The raw (still percent-encoded) path.
    pub path: &'a str,
    /// The raw query string without `?` (may be empty).
    pub query: &'a str,
    /// All request headers.
    pub headers: &'a HeaderMap,
    /// The request body.
    pub body: &'a [u8],
}

fn incomplete(message: impl Into<String>) -> StsError {
    StsError::new(400, "IncompleteSignature", message)
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/sts/aws4_request,
/// SignedHeaders=host;x-amz-date, Signature=hex`.
pub fn parse_authorization(value: &str) -> Result<Authorization, StsError> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(|| {
        incomplete("Authorization header must use the AWS4-HMAC-SHA256 algorithm")
    })?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {
                return Err(incomplete(format!(
                    "Authorization header requires 'Credential', 'SignedHeaders' and \
                     'Signature' parameters; cannot parse '{part}'"
                )))
            }
        }
    }
    let missing =
        |name: &str| incomplete(format!("Authorization header requires '{name}' parameter"));
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope[..] else {
        return Err(incomplete(format!(
            "Credential should be of the form AKID/YYYYMMDD/region/service/aws4_request; got '{credential}'"
        )));
    };
    if terminator != "aws4_request" || access_key_id.is_empty() {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'"
        )));
    }
    Ok(Authorization {
        access_key_id: access_key_id.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: signed_headers.to_string(),
        signature: signature.to_ascii_lowercase(),
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters (and `/`
/// when `keep_slash`), as SigV4 requires.
fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (a `+` stays a `+`: this is a URI, not a form).
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// SigV4 (non-S3) encodes the already-encoded path once more.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        "/".to_string()
    } else {
        uri_encode(path.as_bytes(), true)
    }
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Trims a header value and folds runs of spaces into one.
fn trim_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value.trim().split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The canonical request for `signed_headers` (names joined by `;`).
pub fn canonical_request(req: &Request<'_>, signed_headers: &str) -> String {
    let mut headers = String::new();
    for name in signed_headers.split(';') {
        let values: Vec<String> = req
            .headers
            .get_all(name)
            .iter()
            .map(|v| trim_all(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload_hash = match req.headers.get("x-amz-content-sha256") {
        Some(v) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
        None => hex::encode(Sha256::digest(req.body)),
    };
    [
        req.method,
        &canonical_uri(req.path),
        &canonical_query(req.query),
        &headers,
        signed_headers,
        &payload_hash,
    ]
    .join("\n")
}

/// `AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hex(sha256(canonical))}`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The derived signing key: HMAC chain over date, region, service, `aws4_request`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Hex signature of `string_to_sign` with `secret` over the given scope.
#[cfg(test)]
pub fn signature(secret: &str, auth: &Authorization, string_to_sign: &str) -> String {
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    hex::encode(hmac(&key, string_to_sign.as_bytes()))
}

/// Checks date, scope and signature of `req` against `secret`, at `now`.
pub fn verify(
    req: &Request<'_>,
    auth: &Authorization,
    secret: &str,
    now: i64,
) -> Result<(), StsError> {
    let amz_date = req
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            incomplete("Authorization header requires existence of a 'X-Amz-Date' header")
        })?;
    let signed_at = clock::parse_amz_date(amz_date).ok_or_else(|| {
        incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'"
        ))
    })?;
    if now - signed_at > MAX_SKEW_SECONDS {
        return Err(StsError::signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            clock::amz_date(now - MAX_SKEW_SECONDS),
            clock::amz_date(now)
        )));
    }
    if signed_at - now > MAX_SKEW_SECONDS {
        return Err(StsError::signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            clock::amz_date(now + MAX_SKEW_SECONDS),
            clock::amz_date(now)
        )));
    }
    if !amz_date.starts_with(&auth.date) {
        return Err(StsError::signature(format!(
            "Credential should be scoped to a valid date: '{}' does not match '{amz_date}'",
            auth.date
        )));
    }
    if auth.service != "sts" {
        return Err(StsError::signature(format!(
            "Credential should be scoped to correct service: 'sts'. Got '{}'",
            auth.service
        )));
    }
    if !auth.signed_headers.split(';').any(|h| h == "host") {
        return Err(StsError::signature(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let sts = string_to_sign(
        amz_date,
        &auth.scope(),
        &canonical_request(req, &auth.signed_headers),
    );
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(sts.as_bytes());
    let provided = hex::decode(&auth.signature).unwrap_or_default();
    // `verify_slice` compares in constant time.
    mac.verify_slice(&provided).map_err(|_| {
        StsError::signature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    /// The `get-vanilla` case of AWS's published SigV4 test suite.
    #[test]
    fn aws_test_suite_get_vanilla() {
        let h = headers(&[
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
        ]);
        let req = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &h,
            body: b"",
        };
        let auth = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        )
        .unwrap();
        let canonical = canonical_request(&req, &auth.signed_headers);
        assert_eq!(
            canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let sts = string_to_sign("20150830T123600Z", &auth.scope(), &canonical);
        assert_eq!(
            signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &auth, &sts),
            auth.signature
        );
    }

    #[test]
    fn canonical_query_sorts_and_encodes() {
        assert_eq!(
            canonical_query("b=2&a=%7e x&a=1&c&d=%2f"),
            "a=1&a=~%20x&b=2&c=&d=%2F"
        );
        assert_eq!(trim_all("  a   b  c "), "a b c");
        assert_eq!(canonical_uri("/a b/%2F"), "/a%20b/%252F");
    }

    #[test]
    fn malformed_authorization_is_incomplete() {
        let e = parse_authorization("AWS4-HMAC-SHA256 Credential=AKID/x").unwrap_err();
        assert_eq!(e.code, "IncompleteSignature");
        assert!(parse_authorization("Basic abc").is_err());
    }
}
