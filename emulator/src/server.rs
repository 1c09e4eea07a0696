//! The HTTP side: accept loop, routing, the STS endpoint with faults, the
//! control API and the OpenID discovery / JWKS documents.

use crate::body::AnswerBody;
use crate::clock;
use crate::jwt::Keys;
use crate::sigv4;
use crate::sources::{self, Answer, IssuedToken, Source, SourceFault, SourceState};
use crate::state::{Fault, FaultMode, State};
use crate::sts::{self, Caller, Issuer, Params};
use crate::xml::{self, StsError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, DATE};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// On a response: send it without a `Date` header (the `no_date` fault).
#[derive(Debug, Clone, Copy)]
struct NoDate;

/// Stamps `resp` with a `Date` header of `secs` (Unix) unless it has one
/// or must go without ([`NoDate`]).
fn with_date(mut resp: HttpResponse, secs: i64) -> HttpResponse {
    if resp.extensions().get::<NoDate>().is_none() && !resp.headers().contains_key(DATE) {
        if let Ok(v) = HeaderValue::from_str(&clock::http_date(secs)) {
            resp.headers_mut().insert(DATE, v);
        }
    }
    resp
}

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

type HttpResponse = Response<AnswerBody>;

/// One emulator's server: its state, keys and addresses.
pub(crate) struct Server {
    pub state: State,
    /// The credential sources (IMDS, container endpoints, SSO, web identity).
    pub sources: SourceState,
    /// The account-wide rate limit and the per-second histogram.
    pub limiter: crate::ratelimit::Limiter,
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
                    // Dates are ours (STS's clock for STS, the host's for
                    // the rest), not hyper's: STS's follows its offset.
                    async move { server.handle(req).await.map(|r| with_date(r, clock::now())) }
                });
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder.auto_date_header(false);
                let conn = builder.serve_connection(TokioIo::new(stream), service);
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
    let mut resp = Response::new(AnswerBody::from(Full::new(body.into())));
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
            ("GET", "/_emulator/stats") => json_response(200, &json!(self.stats())),
            ("GET", "/_emulator/rate-limit") => json_response(200, &json!(self.limiter.limit())),
            ("POST", "/_emulator/rate-limit") => {
                let limit = serde_json::from_slice::<Option<crate::RateLimit>>(&body)
                    .map_err(|e| e.to_string())
                    .and_then(|l| l.map(crate::RateLimit::validated).transpose());
                match limit {
                    Ok(limit) => {
                        self.limiter.set(limit);
                        json_response(200, &json!(limit))
                    }
                    Err(e) => json_error(400, format!("bad rate limit: {e}")),
                }
            }
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
                self.limiter.reset();
                json_response(200, &json!({ "reset": true }))
            }
            ("POST", "/_emulator/shutdown") => {
                self.stop.send_replace(true);
                json_response(200, &json!({ "shutdown": true }))
            }
            ("GET", "/_emulator/session") => self.session(query),
            ("POST", "/_emulator/sign") => self.sign(&body),
            ("GET", "/_emulator/sources") => json_response(200, &self.sources_view()),
            ("POST", "/_emulator/sources") => {
                let update = serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string());
                match update.and_then(|u| self.sources.apply_json(&u)) {
                    Ok(()) => json_response(200, &self.sources_view()),
                    Err(e) => json_error(400, format!("bad sources update: {e}")),
                }
            }
            ("GET", "/_emulator/web-identity-token") => self.web_identity_token(query),
            ("GET", "/_emulator/sso-token") => {
                let seconds = Params::parse(query, None)
                    .get("seconds")
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(3600);
                respond(200, "text/plain", self.sources.issue_sso_token(seconds))
            }
            (_, path) if path.starts_with("/latest/") => {
                let answer = self.sources.imds(&self.state, method, path, &parts.headers);
                return source_answer(answer);
            }
            ("GET", path)
                if path.starts_with("/_emulator/pod-identity/")
                    || path.starts_with("/_emulator/ecs/") =>
            {
                return source_answer(self.sources.container(&self.state, path, &parts.headers));
            }
            ("GET", "/federation/credentials") => {
                return source_answer(self.sources.sso(&self.state, query, &parts.headers));
            }
            (_, "/") => {
                // STS's Date is STS's clock (with the test offset), as iat/exp.
                let now = self.state.now();
                return self.sts(&parts, &body).await.map(|r| with_date(r, now));
            }
            _ => json_error(404, format!("no route for {method} {}", parts.uri.path())),
        };
        Ok(resp)
    }

    /// `GET /_emulator/stats`: the counters with the rate limit's histogram.
    pub fn stats(&self) -> crate::Stats {
        let mut stats = self.state.stats();
        (stats.per_second, stats.throttled) = self.limiter.histogram();
        stats.rate_limit = self.limiter.limit();
        stats
    }

    /// `GET /_emulator/sources`: the sources' counters, settings and what
    /// a test needs to reach them (the Pod Identity `Authorization` value,
    /// the OIDC issuer, the instance role).
    fn sources_view(&self) -> Value {
        let mut view = json!(self.sources.stats());
        view["container_authorization_token"] = json!(self.sources.container_token);
        view["oidc_issuer"] = json!(sources::OIDC_ISSUER);
        view["instance_role"] = json!(crate::identities::INSTANCE_ROLE.name);
        view
    }

    /// `GET /_emulator/web-identity-token?sub=S&seconds=N[&aud=A]`: a web
    /// identity token as the stand-in EKS OIDC issuer signs it (text);
    /// `seconds` <= 0 gives an already expired one.
    fn web_identity_token(&self, query: &str) -> HttpResponse {
        let params = Params::parse(query, None);
        let subject = params
            .get("sub")
            .unwrap_or("system:serviceaccount:default:kafka-client");
        let Some(seconds) = params.get("seconds").unwrap_or("3600").parse::<i64>().ok() else {
            return json_error(400, "seconds must be an integer");
        };
        let audience = params.get("aud").unwrap_or(sources::WEB_IDENTITY_AUDIENCE);
        let claims = SourceState::web_identity_claims(subject, audience, clock::now(), seconds);
        respond(
            200,
            "text/plain",
            self.keys.sign(crate::jwt::Algorithm::Rs256, &claims),
        )
    }

    /// `POST /_emulator/sign` with `{"claims": {...}, "alg": "RS256"|"ES384",
    /// "kid": "..."}` (alg defaults to RS256, kid to the key's own): any
    /// claims signed with the issuer's keys, so tests can hand the broker
    /// tokens STS would never issue (wrong iss, nbf ahead, no sub, a kid
    /// the JWKS lacks). Answers `{"token": "..."}`.
    fn sign(&self, body: &[u8]) -> HttpResponse {
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return json_error(400, "body must be JSON");
        };
        let Some(claims) = req.get("claims").filter(|c| c.is_object()) else {
            return json_error(400, "claims must be an object");
        };
        let a = req.get("alg").and_then(Value::as_str).unwrap_or("RS256");
        let Some(alg) = crate::jwt::Algorithm::parse(a) else {
            return json_error(400, format!("alg must be RS256 or ES384, not {a:?}"));
        };
        let kid = req.get("kid").and_then(Value::as_str).unwrap_or(alg.kid());
        json_response(
            200,
            &json!({ "token": self.keys.sign_with_kid(alg, kid, claims) }),
        )
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

    /// `GET /_emulator/session?principal=ARN&seconds=N[&origin_subject=S]`:
    /// session keys in the `credential_process` JSON shape; with
    /// `origin_subject` the session has origin identity context (for
    /// `SubjectMode=OriginIdentity`).
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
        let origin = match params.get("origin_subject") {
            Some("") => return json_error(400, "origin_subject must not be empty"),
            other => other,
        };
        let creds = self
            .state
            .issue_session_with_origin(principal, principal, &user_id, seconds, origin);
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
        // The account's quota comes before anything else, as at AWS: a
        // throttled request is never authenticated or faulted.
        if !self.limiter.admit(clock::now()) {
            let e = StsError::new(400, "Throttling", "Rate exceeded");
            self.log(&action, &format!("{e} (rate limit)"));
            return Ok(xml_response(e.status, e.to_xml(&request_id), &request_id));
        }
        let mut absurd_exp = false;
        let mut date_fault = None;
        if action == "AssumeRoleWithWebIdentity" {
            let injected = match self.sources.enter(Source::WebIdentity, &action) {
                SourceFault::None => None,
                SourceFault::Down => return Err(DropConnection),
                SourceFault::Oversized => return Ok(oversized_response(false)),
                SourceFault::ServerError => Some(StsError::internal_failure()),
                SourceFault::ExpiredToken => Some(StsError::new(
                    400,
                    "ExpiredTokenException",
                    "Token expired: the web identity token is expired (fault)",
                )),
            };
            if let Some(e) = injected {
                self.log(&action, &format!("{e} (fault)"));
                return Ok(xml_response(e.status, e.to_xml(&request_id), &request_id));
            }
        }
        if action == "GetWebIdentityToken" {
            self.state
                .record_last_request(params.last_request(&parts.headers));
            let fault = self.state.take_fault();
            if !fault.latency.is_zero() {
                tokio::time::sleep(fault.latency).await;
            }
            absurd_exp = fault.mode == FaultMode::AbsurdExp;
            date_fault = Some(fault);
            let injected = match fault.mode {
                FaultMode::None
                | FaultMode::AbsurdExp
                | FaultMode::DateDisagrees
                | FaultMode::NoDate => None,
                FaultMode::Oversized | FaultMode::OversizedChunked => {
                    let declared = fault.mode == FaultMode::Oversized;
                    self.log(&action, "200 with an oversized body (fault)");
                    return Ok(oversized_response(declared));
                }
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
                FaultMode::ServerError => Some(StsError::internal_failure()),
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
        let mut resp = xml_response(status, xml_body, &request_id);
        match date_fault {
            Some(f) if f.mode == FaultMode::DateDisagrees => {
                let date = self.state.now().saturating_add(f.date_offset);
                resp = with_date(resp, date);
            }
            Some(f) if f.mode == FaultMode::NoDate => {
                resp.extensions_mut().insert(NoDate);
            }
            _ => {}
        }
        Ok(resp)
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
        if action == "AssumeRoleWithWebIdentity" {
            // Unsigned: the web identity token is the authentication.
            let result = sts::assume_role_with_web_identity(
                &self.state,
                &self.keys,
                params,
                self.sources.credential_seconds(),
                now,
            )?;
            let role = params.get("RoleArn").unwrap_or("").to_string();
            return Ok((result, role));
        }
        let caller: Caller = sts::authenticate(&self.state, req, now)?;
        let result = match action {
            "GetWebIdentityToken" => {
                let issuer = Issuer {
                    keys: &self.keys,
                    issuer: &self.issuer,
                    policy: self.state.policy(),
                    absurd_exp,
                };
                let result = sts::get_web_identity_token(&issuer, &caller, params, now)
                    .inspect_err(|e| {
                        if e.code == "SessionDurationEscalationException" {
                            self.sources.count_escalation(&caller.identity.principal);
                        }
                    })?;
                self.state.count_token();
                self.record_issued(&caller, &result);
                result
            }
            "GetCallerIdentity" => sts::get_caller_identity(&caller),
            _ => sts::assume_role(&self.state, &caller, params)?,
        };
        Ok((result, caller.identity.principal))
    }

    /// Remembers a token signed by session credentials with both expiries.
    fn record_issued(&self, caller: &Caller, result: &[xml::Node]) {
        let Some((_, credentials_expire)) = caller.identity.session else {
            return;
        };
        let exp = result.iter().find_map(|n| match n {
            xml::Node::Text("Expiration", v) => clock::parse_iso8601(v),
            _ => None,
        });
        if let Some(exp) = exp {
            self.sources.record_issued(IssuedToken {
                principal: caller.identity.principal.clone(),
                access_key_id: caller.access_key_id.clone(),
                exp,
                credentials_expire,
            });
        }
    }

    fn log(&self, action: &str, outcome: &str) {
        if self.log_requests {
            eprintln!("kafka-iam-oauth-emulator: {action}: {outcome}");
        }
    }
}

/// A source endpoint's answer as an HTTP response (`None`: the fault
/// `down` closes the connection).
fn source_answer(answer: Answer) -> Result<HttpResponse, DropConnection> {
    let (status, content_type, body, headers) = answer.ok_or(DropConnection)?;
    if content_type == sources::OVERSIZED {
        return Ok(oversized_response(false));
    }
    let mut resp = respond(status, content_type, body);
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
    Ok(resp)
}

/// The fault switches' oversized answer: HTTP 200 with
/// [`crate::body::OVERSIZED_BYTES`] streamed, with `Content-Length`
/// (`declared`) or chunked.
fn oversized_response(declared: bool) -> HttpResponse {
    let mut resp = Response::new(AnswerBody::oversized(declared));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    resp
}
