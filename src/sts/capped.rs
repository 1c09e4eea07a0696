//! Every HTTP answer the library reads is bounded in size.
//!
//! An STS answer is a few KiB, and so are the answers of IMDS, the ECS/EKS
//! container endpoints, SSO's `GetRoleCredentials` and AssumeRole(WithWeb
//! Identity). A misconfigured endpoint (`sts_endpoint` pointing at a file
//! server, a broken proxy) may answer with hundreds of MiB, which the SDK
//! would read whole into memory before finding it is not an STS answer.
//!
//! [`capped_http_client`] is the SDK's default HTTPS client with every
//! response body read here, up to [`MAX_ANSWER_BYTES`]: an answer that
//! declares more (`Content-Length`) is refused before any of its body is
//! read; one that does not is refused as soon as a byte beyond the cap
//! arrives. The connection is then dropped, never drained. The refusal is a
//! connector error of kind "other" with no retry kind, which the SDK's
//! retry classifiers do not retry: one request per failure, in the STS
//! client (whose retries are off anyway) and in the credential chain's
//! clients alike.
//!
//! Reading the body inside the connector keeps it within the SDK's
//! per-attempt timeout, so an answer that trickles stays bounded in time
//! as before.
//!
//! It also holds the trust roots for TLS. The SDK's own loading of them
//! panics on a machine with no CA certificates (a debug assertion, then a
//! poisoned lock in its client: every later request panics too) and keeps
//! the empty result for the life of the process. Here they are loaded from
//! the same source (`rustls-native-certs`: `SSL_CERT_FILE`/`SSL_CERT_DIR`,
//! else the system's store) and handed to the SDK as its own trust store;
//! while none load, an `https` request is refused before it is sent with
//! [`NoTrustRoots`] (plain `http`, the emulator on loopback, needs none),
//! and the next request looks again, so installing certificates mends a
//! running process.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The largest answer read from any endpoint. STS's `GetWebIdentityToken`
/// answer is under 4 KiB (a JWT of ~1 KiB in ~1 KiB of XML); AWS documents
/// no answer of these APIs above 16 KiB. 64 KiB leaves room for an error
/// page and for tags, and bounds what a bad endpoint can cost.
pub(crate) const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// An answer refused for its size: names the endpoint (scheme, host, port
/// and path; never the query) and what was seen of the size.
#[derive(Debug, Clone)]
pub(crate) struct AnswerTooLarge {
    pub endpoint: String,
    /// `Some(n)`: the answer declared `Content-Length: n`.
    pub declared: Option<u64>,
}

impl fmt::Display for AnswerTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cap = MAX_ANSWER_BYTES;
        match self.declared {
            Some(n) => write!(
                f,
                "the answer from {} is {n} bytes (Content-Length), over the {cap}-byte limit: refused without reading it",
                self.endpoint
            ),
            None => write!(
                f,
                "the answer from {} is over the {cap}-byte limit (no Content-Length): refused after its first {cap} bytes",
                self.endpoint
            ),
        }?;
        f.write_str(
            " (AWS answers here are a few KiB: is the endpoint a file server, or a proxy's page?)",
        )
    }
}

impl std::error::Error for AnswerTooLarge {}

/// The refusal, if `e` or any error in its source chain is one.
pub(crate) fn too_large<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a AnswerTooLarge> {
    in_chain(e)
}

/// The first `T` in `e`'s source chain (`e` included).
fn in_chain<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        next = e.source();
    }
    None
}

/// The start of [`NoTrustRoots`]'s message (the mint does not retry it:
/// another attempt finds the same files).
pub(crate) const NO_TRUST_ROOTS: &str = "no CA certificates found";

/// An `https` request refused because no trust roots load: says where the
/// library looked and how to fix it.
#[derive(Debug, Clone)]
pub(crate) struct NoTrustRoots {
    /// `scheme://host:port/path` of the refused request.
    pub endpoint: String,
    /// Where the roots were looked for, and the first loading error.
    looked: String,
}

impl fmt::Display for NoTrustRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{NO_TRUST_ROOTS} to verify {} over TLS (looked in {}): install the ca-certificates package, \
             or set SSL_CERT_FILE to a PEM bundle",
            self.endpoint, self.looked
        )
    }
}

impl std::error::Error for NoTrustRoots {}

/// The refusal, if `e` or any error in its source chain is one.
pub(crate) fn no_trust_roots<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a NoTrustRoots> {
    in_chain(e)
}

/// The trust roots as one PEM bundle (only certificates rustls accepts as
/// anchors, so the SDK's parsing of them cannot fail), or where they were
/// looked for. Kept for the process once found; looked for again on every
/// call until then.
fn trust_roots() -> Result<Arc<Vec<u8>>, String> {
    static FOUND: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
    if let Some(pem) = FOUND.get() {
        return Ok(pem.clone());
    }
    let loaded = rustls_native_certs::load_native_certs();
    let mut probe = rustls::RootCertStore::empty();
    let mut pem = Vec::new();
    for cert in loaded.certs {
        if probe.add(cert.clone()).is_ok() {
            pem_encode(&cert, &mut pem);
        }
    }
    if pem.is_empty() {
        let env =
            |name: &str| std::env::var_os(name).map(|v| format!("{name}={}", v.to_string_lossy()));
        let mut looked = [env("SSL_CERT_FILE"), env("SSL_CERT_DIR")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        if looked.is_empty() {
            looked =
                "the system's certificate store (/etc/ssl/certs, OpenSSL's usual places)".into();
        }
        if let Some(first) = loaded.errors.first() {
            looked.push_str(": ");
            looked.push_str(&crate::error::excerpt(
                &first.to_string(),
                crate::error::MAX_FOREIGN_TEXT,
            ));
        }
        return Err(looked);
    }
    Ok(FOUND.get_or_init(|| Arc::new(pem)).clone())
}

/// Appends `der` as a PEM `CERTIFICATE` block.
fn pem_encode(der: &[u8], out: &mut Vec<u8>) {
    let b64 = aws_smithy_types::base64::encode(der);
    out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE-----\n");
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc, proxy from
/// the environment: what `aws-smithy-runtime`'s `default-https-client`
/// builds for the latest behavior version) with every answer capped at
/// [`MAX_ANSWER_BYTES`], trusting the roots [`trust_roots`] finds.
pub(crate) fn capped_http_client() -> SharedHttpClient {
    SharedHttpClient::new(Capped {
        with_roots: OnceLock::new(),
        without_roots: OnceLock::new(),
    })
}

/// The SDK's client trusting exactly `trust` (never the SDK's own native
/// roots: see the module's comment).
fn sdk_client(trust: tls::TrustStore) -> SharedHttpClient {
    // `build` cannot fail in aws-smithy-http-client 1.x; were it to, an
    // empty trust store refuses every TLS peer rather than panicking.
    let context = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .ok();
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut builder =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.set_proxy_config(Some(ProxyConfig::from_env()));
        let context = context.clone().or_else(|| {
            tls::TlsContext::builder()
                .with_trust_store(tls::TrustStore::empty())
                .build()
                .ok()
        });
        if let Some(context) = context {
            builder.set_tls_context(context);
        }
        builder.build()
    })
}

#[derive(Debug)]
struct Capped {
    /// Built once roots are found.
    with_roots: OnceLock<SharedHttpClient>,
    /// For plain `http` while none are (its `https` requests are refused
    /// before they reach it).
    without_roots: OnceLock<SharedHttpClient>,
}

impl HttpClient for Capped {
    // The SDK asks for a connector on every attempt: each one sees whether
    // roots have appeared since.
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let (client, no_roots) = match trust_roots() {
            Ok(pem) => (
                self.with_roots.get_or_init(|| {
                    sdk_client(tls::TrustStore::empty().with_pem_certificate(pem.to_vec()))
                }),
                None,
            ),
            Err(looked) => (
                self.without_roots
                    .get_or_init(|| sdk_client(tls::TrustStore::empty())),
                Some(looked),
            ),
        };
        SharedHttpConnector::new(CappedConnector {
            inner: client.http_connector(settings, components),
            no_roots,
        })
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        Some(
            aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata::new(
                "hyper",
                Some(std::borrow::Cow::Borrowed("1.x")),
            ),
        )
    }
}

#[derive(Debug)]
struct CappedConnector {
    inner: SharedHttpConnector,
    /// `Some(where)`: no trust roots were found there; `https` is refused.
    no_roots: Option<String>,
}

impl HttpConnector for CappedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let endpoint = endpoint_of(request.uri());
        if let Some(looked) = &self.no_roots {
            if request
                .uri()
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
            {
                // Not retried by the SDK (no retry kind), as the size refusal.
                return HttpConnectorFuture::ready(Err(ConnectorError::other(
                    Box::new(NoTrustRoots {
                        endpoint,
                        looked: looked.clone(),
                    }),
                    None,
                )));
            }
        }
        let sent = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let mut response = sent.await?;
            let refuse = |declared| {
                ConnectorError::other(
                    Box::new(AnswerTooLarge {
                        endpoint: endpoint.clone(),
                        declared,
                    }),
                    None,
                )
            };
            let declared = response
                .headers()
                .get("content-length")
                .and_then(|v| v.trim().parse::<u64>().ok());
            if let Some(n) = declared.filter(|n| *n > MAX_ANSWER_BYTES) {
                return Err(refuse(Some(n)));
            }
            let body = std::mem::replace(response.body_mut(), SdkBody::taken());
            let read = read_capped(body, MAX_ANSWER_BYTES)
                .await
                .map_err(|e| ConnectorError::io(e))?
                .ok_or_else(|| refuse(None))?;
            *response.body_mut() = SdkBody::from(read);
            Ok(response)
        })
    }
}

/// The whole of `body`, or `None` as soon as it exceeds `cap` bytes.
async fn read_capped(
    mut body: SdkBody,
    cap: u64,
) -> Result<Option<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>> {
    use http_body::Body;
    let mut out = Vec::new();
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        let Some(frame) = frame else {
            return Ok(Some(out));
        };
        if let Ok(data) = frame?.into_data() {
            if out.len() as u64 + data.len() as u64 > cap {
                return Ok(None);
            }
            out.extend_from_slice(&data);
        }
    }
}

/// `scheme://host:port/path` of a request: what the messages name (the
/// query may carry account ids and role names; userinfo never goes out).
fn endpoint_of(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) => format!(
            "{}://{}{}{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            u.path()
        ),
        Err(_) => "an endpoint with an unparsable URL".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_leave_out_query_and_userinfo() {
        assert_eq!(
            endpoint_of("http://u:p@127.0.0.1:4566/federation/credentials?role_name=r"),
            "http://127.0.0.1:4566/federation/credentials"
        );
        assert_eq!(
            endpoint_of("https://sts.eu-west-1.amazonaws.com/"),
            "https://sts.eu-west-1.amazonaws.com/"
        );
    }

    #[test]
    fn the_body_is_read_up_to_the_cap_only() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let exact = rt
            .block_on(read_capped(SdkBody::from(vec![b'x'; 10]), 10))
            .unwrap();
        assert_eq!(exact.map(|v| v.len()), Some(10));
        let over = rt
            .block_on(read_capped(SdkBody::from(vec![b'x'; 11]), 10))
            .unwrap();
        assert_eq!(over, None);
    }

    #[test]
    fn roots_are_handed_over_as_pem_that_parses_back_to_them() {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        // Lengths around the 48-byte (64-character) line boundary.
        let ders: Vec<Vec<u8>> = [1usize, 47, 48, 49, 500]
            .iter()
            .map(|&n| (0..n).map(|i| (i * 7 % 256) as u8).collect())
            .collect();
        let mut pem = Vec::new();
        for der in &ders {
            pem_encode(der, &mut pem);
        }
        let back = CertificateDer::pem_slice_iter(&pem)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(back, ders);
    }

    #[test]
    fn no_roots_is_found_in_a_chain_and_names_the_fix() {
        let e = NoTrustRoots {
            endpoint: "https://sts.eu-west-1.amazonaws.com/".into(),
            looked: "SSL_CERT_FILE=/nowhere".into(),
        };
        let text = e.to_string();
        assert!(text.starts_with(NO_TRUST_ROOTS), "{text}");
        assert!(
            text.contains("https://sts.eu-west-1.amazonaws.com/")
                && text.contains("SSL_CERT_FILE=/nowhere")
                && text.contains(
                    "install the ca-certificates package, or set SSL_CERT_FILE to a PEM bundle"
                ),
            "{text}"
        );
        let wrapped = ConnectorError::other(Box::new(e), None);
        assert!(no_trust_roots(&wrapped).is_some());
        assert!(too_large(&wrapped).is_none());
    }

    #[test]
    fn the_refusal_is_found_in_a_chain_and_says_what_and_where() {
        let e = AnswerTooLarge {
            endpoint: "http://127.0.0.1:1/".into(),
            declared: Some(268_435_456),
        };
        let text = e.to_string();
        assert!(
            text.contains("http://127.0.0.1:1/") && text.contains("268435456 bytes"),
            "{text}"
        );
        assert!(text.contains("65536-byte limit"), "{text}");
        let wrapped = ConnectorError::other(Box::new(e), None);
        assert!(too_large(&wrapped).is_some());
    }
}
