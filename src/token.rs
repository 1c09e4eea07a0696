//! A minted token: the JWT plus what Kafka clients need with it.

use serde_json::{Map, Value};
use std::ffi::{c_char, CString};
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use zeroize::Zeroize;

/// One token from STS. Immutable and shared (`Arc<Token>`) between all
/// callers of a cache entry. The JWT is zeroed when the last holder drops it;
/// `Debug` shows the claims, never the JWT.
pub struct Token {
    value: CString,
    /// Expiry on the local monotonic clock: when the STS request was sent
    /// plus the token's lifetime (`policy::token_lifetime`).
    expires: Instant,
    /// When the token arrived, on the monotonic clock...
    minted: Instant,
    /// ...and on the local wall clock (the two are read together once, so
    /// the wall-clock times below are stable and in local time).
    minted_at: SystemTime,
    /// In [0, 1): this token's share of the refresh jitter, drawn once at
    /// mint time; `policy::refresh_at` reads it.
    jitter: f64,
    /// Minted while STS was throttling this process: the refresh uses the
    /// wider spread (`policy::refresh_at_after_throttling`).
    after_throttling: bool,
    principal: CString,
    claims: Map<String, Value>,
    extensions: Vec<(CString, CString)>,
    /// Flat `key, value, key, value` pointers into `extensions`, the shape
    /// `rd_kafka_oauthbearer_set_token` takes.
    extension_ptrs: Vec<*const c_char>,
}

// SAFETY: the raw pointers point into `extensions`, which is owned by the
// token and never mutated after construction.
unsafe impl Send for Token {}
unsafe impl Sync for Token {}

impl Token {
    /// Builds a token. Strings with interior NUL bytes are refused by the
    /// caller (STS JWTs and ARNs never contain them).
    pub(crate) fn new(
        value: CString,
        expires: Instant,
        principal: CString,
        claims: Map<String, Value>,
        extensions: Vec<(CString, CString)>,
    ) -> Token {
        let extension_ptrs = extensions
            .iter()
            .flat_map(|(k, v)| [k.as_ptr(), v.as_ptr()])
            .collect();
        Token {
            value,
            expires,
            minted: Instant::now(),
            minted_at: SystemTime::now(),
            jitter: rand::random::<f64>(),
            after_throttling: false,
            principal,
            claims,
            extensions,
            extension_ptrs,
        }
    }

    /// A deep copy with its own reference count, so that each thread can
    /// hand out clones without contending on a shared counter (see
    /// `cache.rs`). Same JWT, expiry and refresh schedule.
    pub(crate) fn replica(&self) -> Token {
        let mut t = Token::new(
            self.value.clone(),
            self.expires,
            self.principal.clone(),
            self.claims.clone(),
            self.extensions.clone(),
        );
        t.minted = self.minted;
        t.minted_at = self.minted_at;
        t.jitter = self.jitter;
        t.after_throttling = self.after_throttling;
        t
    }

    /// Minted while STS was throttling this process: its refresh is spread
    /// wider ([`policy::refresh_at_after_throttling`](crate::policy::refresh_at_after_throttling)).
    pub(crate) fn spread_after_throttling(&mut self) {
        self.after_throttling = true;
    }

    /// The JWT. Treat it as a secret.
    pub fn value(&self) -> &str {
        self.value.to_str().unwrap_or("")
    }

    /// The JWT as a NUL-terminated C string.
    pub fn value_cstr(&self) -> &std::ffi::CStr {
        &self.value
    }

    /// A point on the monotonic clock as local wall-clock time.
    fn wall(&self, t: Instant) -> SystemTime {
        self.minted_at + t.saturating_duration_since(self.minted)
    }

    /// When the token expires, in local time: when it arrived plus what
    /// was left of its lifetime then. STS's clock plays no part, so a
    /// skewed local clock still gets a correct "time left".
    pub fn expires_at(&self) -> SystemTime {
        self.wall(self.expires)
    }

    /// Expiry as milliseconds since the Unix epoch in local time
    /// (librdkafka's `md_lifetime_ms`, which librdkafka compares with its
    /// own clock to schedule the next refresh).
    pub fn lifetime_ms(&self) -> i64 {
        self.expires_at()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    /// Expiry on the monotonic clock (what the cache compares).
    pub(crate) fn expires(&self) -> Instant {
        self.expires
    }

    /// The background refresh time on the monotonic clock.
    pub(crate) fn refresh_instant(&self) -> Instant {
        if self.after_throttling {
            crate::policy::refresh_at_after_throttling(self.minted, self.expires, self.jitter)
        } else {
            crate::policy::refresh_at(self.minted, self.expires, self.jitter)
        }
    }

    /// When this process received the token from STS.
    pub fn minted_at(&self) -> SystemTime {
        self.minted_at
    }

    /// When the library refreshes this token in the background (while it
    /// is in use): [`policy::refresh_at`](crate::policy::refresh_at) of its
    /// lifetime and jitter. Bindings that push tokens themselves schedule
    /// by this instead of assuming a fraction.
    pub fn refresh_at(&self) -> SystemTime {
        self.wall(self.refresh_instant())
    }

    /// Time left before expiry (zero if expired).
    pub fn remaining(&self) -> Duration {
        crate::policy::remaining(self.expires, Instant::now())
    }

    /// The Kafka principal name (the configured claim, `sub` by default).
    pub fn principal(&self) -> &str {
        self.principal.to_str().unwrap_or("")
    }

    /// The principal as a NUL-terminated C string.
    pub fn principal_cstr(&self) -> &std::ffi::CStr {
        &self.principal
    }

    /// The decoded (unverified) JWT claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// SASL extensions to send with the token.
    pub fn extensions(&self) -> impl Iterator<Item = (&str, &str)> {
        self.extensions
            .iter()
            .map(|(k, v)| (k.to_str().unwrap_or(""), v.to_str().unwrap_or("")))
    }

    /// Flat `key, value, ...` C string pointers (valid while the token lives).
    pub fn extension_ptrs(&self) -> &[*const c_char] {
        &self.extension_ptrs
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &"<redacted>")
            .field("principal", &self.principal())
            .field("expires_at", &self.expires_at())
            .field("claims", &self.claims)
            .finish()
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        let bytes = std::mem::take(&mut self.value).into_bytes_with_nul();
        let mut bytes = bytes;
        bytes.zeroize();
    }
}
