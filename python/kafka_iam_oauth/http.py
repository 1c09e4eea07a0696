"""``Authorization: Bearer <JWT>`` for Karapace's Kafka REST proxy, usable as
``auth=`` with both ``requests`` and ``httpx``::

    auth = RestProxyAuth(TokenProvider(region="eu-west-1",
                                       audience="my-kafka.example.com",
                                       duration_seconds=3600),
                         on_token_change=lambda old, new: recreate_consumers())
    requests.get(url, auth=auth)          # or httpx.Client(auth=auth)

Karapace keeps one Kafka session per distinct token and closes sessions whose
token has less than 5 minutes left. A new token therefore means a new proxy
session (REST consumer instances made under the old one are gone), so this
auth keeps sending the same token while it has more than ``margin_seconds``
(default 600) left, switches to a fresh one before the proxy would evict it,
and calls ``on_token_change(old, new)`` when it does. Use a
``duration_seconds`` well above the margin (3600 is best).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Generator, Optional

from . import Token, TokenProvider

__all__ = ["RestProxyAuth", "DEFAULT_MARGIN_SECONDS"]

#: Karapace evicts at 300 s left on a 300 s cycle: switch well before.
DEFAULT_MARGIN_SECONDS: float = 600.0


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

    @property
    def current_token(self) -> Optional[Token]:
        """The token being sent (None before the first request)."""
        return self._token

    def token(self) -> Token:
        """The token to send now; switches only when the one in use has
        ``margin_seconds`` or less left and the cache has a different one."""
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

    def __repr__(self) -> str:
        return f"RestProxyAuth(provider={self.provider!r}, margin_seconds={self.margin_seconds})"
