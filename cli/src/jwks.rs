//! One JSON GET (OIDC discovery, JWKS) for `verify`, on the HTTP/TLS stack
//! the AWS SDK already links (hyper 1, hyper-util's client, rustls on
//! aws-lc-rs with the system's roots): no second client in the binary or
//! the Python wheel.

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::time::Duration;

/// Largest discovery document or JWKS read.
const MAX_BODY: usize = 1024 * 1024;

/// `GET url` → JSON, within `timeout`. `http://` and `https://` only.
pub(crate) fn get_json(url: &str, timeout: Duration) -> Result<Value, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "{url}: only http:// and https:// URLs can be fetched"
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    let https = parsed.scheme() == "https";
    rt.block_on(async {
        match tokio::time::timeout(timeout, fetch(url, https)).await {
            Ok(r) => r,
            Err(_) => Err(format!("{url}: no answer within {} s", timeout.as_secs())),
        }
    })
}

async fn fetch(url: &str, https: bool) -> Result<Value, String> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let builder = if https {
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| format!("cannot load the system's CA certificates: {e}"))?
    } else {
        // Plain http (a local issuer): no TLS, so no need for the system's
        // CA certificates (a minimal container may have none).
        let tls = rustls::ClientConfig::builder_with_provider(provider.into())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls)
    };
    let https = builder.https_or_http().enable_http1().build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let resp = client
        .get(uri)
        .await
        .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
    let status = resp.status();
    let body = Limited::new(resp.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("{url}: reading the answer: {e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON ({e})"))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
