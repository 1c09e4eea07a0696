//! Helpers shared by the emulator's integration tests: environment that
//! keeps the AWS SDK on loopback, a plain HTTP client for the control API,
//! and JWT verification against the served JWKS.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kafka_iam_oauth_emulator::{NO_ACL_USER, USER};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Once;
use std::time::Duration;

// The built-in identities, under the short names the tests use.
pub const USER_KEY: &str = USER.access_key_id;
pub const USER_SECRET: &str = USER.secret_access_key;
pub const USER_ARN: &str = USER.arn;
pub const NO_ACL_KEY: &str = NO_ACL_USER.access_key_id;
pub const NO_ACL_SECRET: &str = NO_ACL_USER.secret_access_key;
pub const NO_ACL_ARN: &str = NO_ACL_USER.arn;

/// No IMDS, no real AWS config files, no ambient credentials or endpoints.
pub fn setup_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let dir = std::env::temp_dir().join(format!("kio-emulator-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty");
        std::fs::write(&empty, "").unwrap();
        // SAFETY (edition 2021: safe fn): set once, before any SDK use.
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", &empty);
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &empty);
        for v in [
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_STS",
        ] {
            std::env::remove_var(v);
        }
    });
}

/// A response from [`http`].
pub struct HttpResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl HttpResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 request (`Connection: close`) to `base_url`.
pub fn http(base_url: &str, method: &str, path: &str, body: Option<&str>) -> HttpResponse {
    let hostport = base_url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(hostport).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    HttpResponse {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// Decodes a JWT's header and claims (no verification).
pub fn decode_jwt(jwt: &str) -> (Value, Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS");
    let decode =
        |s: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap() };
    (decode(parts[0]), decode(parts[1]))
}

/// Verifies the JWT's signature with the key named by its `kid` in `jwks`,
/// straight from the published `n`/`e` or `x`/`y` with aws-lc-rs (not
/// through the JWT library the emulator signs with).
pub fn verify_jwt(jwt: &str, jwks: &Value) {
    use aws_lc_rs::signature::{
        RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P384_SHA384_FIXED,
        RSA_PKCS1_2048_8192_SHA256,
    };
    let (header, _) = decode_jwt(jwt);
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap_or_else(|| panic!("kid {} not in JWKS", header["kid"]));
    assert_eq!(key["alg"], header["alg"]);
    assert_eq!(key["use"], "sig");
    let b64 = |field: &str| {
        URL_SAFE_NO_PAD
            .decode(key[field].as_str().unwrap())
            .unwrap()
    };
    match header["alg"].as_str().unwrap() {
        "RS256" => {
            assert_eq!(key["kty"], "RSA");
            let (n, e) = (b64("n"), b64("e"));
            assert_eq!(n.len(), 256, "RSA 2048");
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig)
                .expect("RS256 signature verifies");
        }
        "ES384" => {
            assert_eq!(key["kty"], "EC");
            assert_eq!(key["crv"], "P-384");
            assert_eq!(sig.len(), 96, "JWS ES384 signature is r || s");
            let point = [&[0x04][..], &b64("x"), &b64("y")].concat();
            UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point)
                .verify(input.as_bytes(), &sig)
                .expect("ES384 signature verifies");
        }
        other => panic!("unexpected alg {other}"),
    }
}
