//! The HTTP side: accept loop, routing, the STS endpoint with faults, the
//! control API and the OpenID discovery / JWKS documents.

use crate::clock;
use crate::jwt::Keys;
use crate::sigv4;
use crate::state::{Fault, FaultMode, State};
use crate::sts::{self, Caller, Issuer, Params};
use crate::xml::{self, StsError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

type HttpResponse = Response<Full<Bytes>>;

/// One emulator's server: its state, keys and addresses.
pub(crate) struct Server {
    pub state: State,
    pub keys: Arc<Keys>,
    pub base_url: String,
    pub issuer: String,
    pub log_requests: bool,
    pub stop: watch::Sender<bool>,
}

/// Accepts connections until `stop` turns true, then lets in-flight
/// requests finish (for at most two seconds).
pub(crate) async fn serve(listener: std::net::TcpListener, server: Arc<Server>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kafka-iam-oauth-emulator: cannot use listener: {e}");
            return;
        }
    };
    let mut stop = server.stop.subscribe();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of file descriptors or similar: back off briefly.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let server = Arc::clone(&server);
                let service = hyper::service::service_fn(move |req| {
                    let server = Arc::clone(&server);
                    async move { server.handle(req).await }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(2), graceful.shutdown()).await;
}

fn respond(status: u16, content_type: &str, body: impl Into<Bytes>) -> HttpResponse {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_str(content_type).expect("static content type"),
    );
    resp
}

fn json_response(status: u16, value: &Value) -> HttpResponse {
    respond(status, "application/json", value.to_string())
}

fn json_error(status: u16, message: impl std::fmt::Display) -> HttpResponse {
    json_response(status, &json!({ "error": message.to_string() }))
}

fn xml_response(status: u16, body: String, request_id: &str) -> HttpResponse {
    let mut resp = respond(status, "text/xml", body);
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

impl Server {
    async fn handle(&self, req: Request<Incoming>) -> Result<HttpResponse, DropConnection> {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return Err(DropConnection),
        };
        let method = parts.method.as_str();
        let query = parts.uri.query().unwrap_or("");
        let resp = match (method, parts.uri.path()) {
            ("GET", "/.well-known/openid-configuration") => json_response(200, &self.discovery()),
            ("GET", "/.well-known/jwks.json") => json_response(200, &self.keys.jwks()),
            ("GET", "/_emulator/stats") => json_response(200, &json!(self.state.stats())),
            ("POST", "/_emulator/faults") => match serde_json::from_slice::<Fault>(&body) {
                Ok(fault) => {
                    self.state.set_fault(fault.clone());
                    json_response(200, &json!({ "fault": fault }))
                }
                Err(e) => json_error(400, format!("bad fault: {e}")),
            },
            ("POST", "/_emulator/policy") => {
                let update = serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string());
                match update.and_then(|u| self.state.update_policy(&u)) {
                    Ok(policy) => json_response(200, &json!(policy)),
                    Err(e) => json_error(400, format!("bad policy: {e}")),
                }
            }
            ("POST", "/_emulator/reset") => {
                self.state.reset();
                json_response(200, &json!({ "reset": true }))
            }
            ("POST", "/_emulator/shutdown") => {
                self.stop.send_replace(true);
                json_response(200, &json!({ "shutdown": true }))
            }
            ("GET", "/_emulator/session") => self.session(query),
            (_, "/") => return self.sts(&parts, &body).await,
            _ => json_error(404, format!("no route for {method} {}", parts.uri.path())),
        };
        Ok(resp)
    }

    fn discovery(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/.well-known/jwks.json", self.base_url),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES384"],
            "claims_supported": ["aud", "exp", "iat", "iss", "jti", "sub", "https://sts.amazonaws.com/"],
        })
    }

    /// `GET /_emulator/session?principal=ARN&seconds=N`: session keys in the
    /// `credential_process` JSON shape.
    fn session(&self, query: &str) -> HttpResponse {
        let params = Params::parse(query, None);
        let Some(principal) = params.get("principal").filter(|p| !p.is_empty()) else {
            return json_error(400, "principal=<ARN> is required");
        };
        let seconds = match params.get("seconds").map(str::parse::<i64>) {
            None => 3600,
            Some(Ok(n)) if n >= 1 => n,
            Some(_) => return json_error(400, "seconds must be an integer >= 1"),
        };
        let prefix = if principal.contains(":role/") {
            "AROA"
        } else {
            "AIDA"
        };
        let user_id = crate::state::unique_id(prefix, principal);
        let creds = self
            .state
            .issue_session(principal, principal, &user_id, seconds);
        json_response(
            200,
            &json!({
                "Version": 1,
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key,
                "SessionToken": creds.session_token,
                "Expiration": clock::iso8601(creds.expires_at),
            }),
        )
    }

    /// The STS endpoint: AWS Query over `POST /` (or `GET /?Action=...`).
    async fn sts(&self, parts: &Parts, body: &[u8]) -> Result<HttpResponse, DropConnection> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let is_form = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let query = parts.uri.query().unwrap_or("");
        let params = Params::parse(query, is_form.then_some(body));
        let action = params.get("Action").unwrap_or("").to_string();
        if !action.is_empty() {
            self.state.count_request(&action);
        }
        let mut absurd_exp = false;
        if action == "GetWebIdentityToken" {
            self.state
                .record_last_request(params.last_request(&parts.headers));
            let fault = self.state.take_fault();
            if !fault.latency.is_zero() {
                tokio::time::sleep(fault.latency).await;
            }
            absurd_exp = fault.mode == FaultMode::AbsurdExp;
            let injected = match fault.mode {
                FaultMode::None | FaultMode::AbsurdExp => None,
                FaultMode::Drop => {
                    self.log(&action, "dropped connection (fault)");
                    return Err(DropConnection);
                }
                FaultMode::Malformed => {
                    self.log(&action, "200 malformed body (fault)");
                    return Ok(xml_response(
                        200,
                        "<<GetWebIdentityTokenResponse this is <not> XML".to_string(),
                        &request_id,
                    ));
                }
                FaultMode::Throttle => Some(StsError::new(400, "Throttling", "Rate exceeded")),
                FaultMode::ServerError => Some(StsError::new(
                    500,
                    "InternalFailure",
                    "The request processing has failed because of an unknown error, exception or failure.",
                )),
                FaultMode::Unavailable => Some(StsError::new(
                    503,
                    "ServiceUnavailable",
                    "Service is unable to handle request.",
                )),
            };
            if let Some(e) = injected {
                self.log(&action, &format!("{e} (fault)"));
                return Ok(xml_response(e.status, e.to_xml(&request_id), &request_id));
            }
        }
        let signed = sigv4::Request {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query,
            headers: &parts.headers,
            body,
        };
        let (status, xml_body, who) = match self.execute(&action, &params, &signed, absurd_exp) {
            Ok((result, principal)) => {
                (200, xml::success(&action, &result, &request_id), principal)
            }
            Err(e) => {
                self.log(&action, &e.to_string());
                return Ok(xml_response(e.status, e.to_xml(&request_id), &request_id));
            }
        };
        self.log(&action, &format!("200 OK for {who}"));
        Ok(xml_response(status, xml_body, &request_id))
    }

    /// Checks action, version and signature, then runs the action; returns
    /// the result elements and the caller's principal.
    fn execute(
        &self,
        action: &str,
        params: &Params,
        req: &sigv4::Request<'_>,
        absurd_exp: bool,
    ) -> Result<(Vec<xml::Node>, String), StsError> {
        if action.is_empty() {
            return Err(StsError::new(
                400,
                "MissingAction",
                "Missing Action parameter",
            ));
        }
        let version = params.get("Version").unwrap_or("");
        if !sts::ACTIONS.contains(&action) || version != sts::VERSION {
            return Err(StsError::new(
                400,
                "InvalidAction",
                format!("Could not find operation {action} for version {version}"),
            ));
        }
        let now = self.state.now();
        let caller: Caller = sts::authenticate(&self.state, req, now)?;
        let result = match action {
            "GetWebIdentityToken" => {
                let issuer = Issuer {
                    keys: &self.keys,
                    issuer: &self.issuer,
                    policy: self.state.policy(),
                    absurd_exp,
                };
                let result = sts::get_web_identity_token(&issuer, &caller, params, now)?;
                self.state.count_token();
                result
            }
            "GetCallerIdentity" => sts::get_caller_identity(&caller),
            _ => sts::assume_role(&self.state, &caller, params)?,
        };
        Ok((result, caller.identity.principal))
    }

    fn log(&self, action: &str, outcome: &str) {
        if self.log_requests {
            eprintln!("kafka-iam-oauth-emulator: {action}: {outcome}");
        }
    }
}
