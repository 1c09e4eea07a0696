"""``Authorization: Bearer <JWT>`` for Karapace's Kafka REST proxy, usable as
``auth=`` with both ``requests`` and ``httpx``::

    auth = RestProxyAuth(TokenProvider(region="eu-west-1",
                                       audience="my-kafka.example.com",
                                       duration_seconds=3600),
                         on_token_change=lambda old, new: recreate_consumers())
    requests.get(url, auth=auth)          # or httpx.Client(auth=auth)

Karapace keeps one Kafka session per distinct token, and its janitor wakes
every 150 s and closes a session whose token has less than 300 s left. A
new token therefore means a new proxy session (REST consumer instances made
under the old one are gone). This auth sends the same token while it has
more than ``margin_seconds`` left (default 450: Karapace's 300 s plus one
150 s janitor period, so no request goes out with a token the next janitor
run could evict), switches to a fresher one before that, and calls
``on_token_change(old, new)`` when it does.

The fresher token comes from the library's refresh-ahead, which mints a new
token by 60 % of the old one's lifetime: ``duration_seconds`` must be at
least ``margin_seconds / 0.4`` (1125 s for the default margin; 3600 is
best). When it is shorter, or STS capped the lifetime, the auth warns once
(logger ``kafka_iam_oauth.http``), naming ``duration_seconds``, and keeps
sending the freshest token it has.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any, Callable, Generator, Optional

from . import Token, TokenProvider

__all__ = [
    "RestProxyAuth",
    "DEFAULT_MARGIN_SECONDS",
    "KARAPACE_EVICT_SECONDS",
    "KARAPACE_CLEANUP_PERIOD_SECONDS",
]

_log = logging.getLogger(__name__)

#: Karapace's REST proxy releases a session whose token has less than this
#: left (``AUTH_EXPIRY_TOLERANCE`` in ``kafka_rest_apis``; fixed there).
KARAPACE_EVICT_SECONDS: float = 300.0
#: How often Karapace's idle-proxy janitor runs (``IDLE_PROXY_TIMEOUT / 2``).
KARAPACE_CLEANUP_PERIOD_SECONDS: float = 150.0
#: Every request's token has at least this left: the proxy's margin plus
#: one janitor period.
DEFAULT_MARGIN_SECONDS: float = KARAPACE_EVICT_SECONDS + KARAPACE_CLEANUP_PERIOD_SECONDS
#: The library refreshes a token by this fraction of its lifetime at the
#: latest (src/policy.rs: REFRESH_FRACTION 0.5 + REFRESH_JITTER 0.1), so a
#: fresh token has at least (1 - this) of its lifetime left.
_REFRESHED_BY = 0.6


class RestProxyAuth:
    """Bearer auth for ``requests`` (``auth=``) and ``httpx`` (``auth=``)."""

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        provider: Optional[TokenProvider] = None,
        *,
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
        on_token_change: Optional[Callable[[Optional[Token], Token], None]] = None,
        **kwargs: Any,
    ) -> None:
        self.provider = provider if provider is not None else TokenProvider(**kwargs)
        self.margin_seconds = float(margin_seconds)
        self.on_token_change = on_token_change
        self._lock = threading.Lock()
        self._token: Optional[Token] = None
        self._warned = False
        configured = self.provider.config.get("duration_seconds")
        if configured is not None:
            self._check_lifetime(float(configured), "is")

    def needed_duration_seconds(self) -> int:
        """The least ``duration_seconds`` that keeps ``margin_seconds`` on
        every request."""
        return math.ceil(self.margin_seconds / (1.0 - _REFRESHED_BY))

    def _check_lifetime(self, lifetime: float, how: str) -> None:
        """Warns once when tokens of ``lifetime`` seconds cannot keep the margin."""
        needed = self.needed_duration_seconds()
        if self._warned or lifetime >= needed:
            return
        self._warned = True
        _log.warning(
            "kafka_iam_oauth: the token lifetime %s %d s, too short to keep %d s on every REST proxy "
            "request (Karapace closes a session whose token has under %d s left, checking every %d s): "
            "requests will go out with tokens the proxy evicts soon. Raise duration_seconds to at least "
            "%d (3600 is best), and make sure the credentials live that long.",
            how, int(lifetime), int(self.margin_seconds), int(KARAPACE_EVICT_SECONDS),
            int(KARAPACE_CLEANUP_PERIOD_SECONDS), needed,
        )

    @property
    def current_token(self) -> Optional[Token]:
        """The token being sent (None before the first request)."""
        return self._token

    def token(self) -> Token:
        """The token to send now; switches only when the one in use has
        ``margin_seconds`` or less left and the cache has a fresher one."""
        tok = self._token
        if tok is not None and tok.remaining_seconds > self.margin_seconds:
            return tok
        changed = None
        with self._lock:
            tok = self._token
            if tok is None or tok.remaining_seconds <= self.margin_seconds:
                new = self.provider.token()
                if tok is None or new.value != tok.value:
                    changed = (tok, new)
                    self._token = tok = new
                    # STS may cap the lifetime below duration_seconds
                    # (credentials expiring sooner): STS's own exp - iat.
                    claims = new.claims
                    try:
                        lifetime = float(claims["exp"]) - float(claims["iat"])
                    except (KeyError, TypeError, ValueError):
                        lifetime = new.remaining_seconds
                    self._check_lifetime(lifetime, "was")
        if changed is not None and changed[0] is not None and self.on_token_change is not None:
            self.on_token_change(changed[0], changed[1])
        assert tok is not None
        return tok

    def header(self) -> str:
        return "Bearer " + self.token().value

    # requests: AuthBase-style callable; httpx also accepts a callable.
    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = self.header()
        return request

    # httpx.Auth protocol (used when httpx checks for auth_flow).
    def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        request.headers["Authorization"] = self.header()
        yield request

    # Copies and pickles carry the provider, the margin, the callback and
    # the warning state; the lock cannot be copied, and the token in use is
    # a short-lived secret (Token refuses to be pickled): the copy takes its
    # own from the cache on its first request (a new process mints its own).
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]
        state["_token"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RestProxyAuth(provider={self.provider!r}, margin_seconds={self.margin_seconds})"
