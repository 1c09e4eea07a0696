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
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(t) = e.downcast_ref::<AnswerTooLarge>() {
            return Some(t);
        }
        next = e.source();
    }
    None
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc, proxy from
/// the environment: what `aws-smithy-runtime`'s `default-https-client`
/// builds for the latest behavior version) with every answer capped at
/// [`MAX_ANSWER_BYTES`].
pub(crate) fn capped_http_client() -> SharedHttpClient {
    let inner = Builder::new().build_with_connector_fn(|settings, components| {
        let mut builder =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.set_proxy_config(Some(ProxyConfig::from_env()));
        builder.build()
    });
    SharedHttpClient::new(Capped { inner })
}

#[derive(Debug)]
struct Capped {
    inner: SharedHttpClient,
}

impl HttpClient for Capped {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CappedConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct CappedConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for CappedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let endpoint = endpoint_of(request.uri());
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
