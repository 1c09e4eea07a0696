"""Kafka SASL/OAUTHBEARER tokens from AWS STS ``GetWebIdentityToken``.

The drop-in callback for confluent-kafka::

    Producer({..., "sasl.mechanism": "OAUTHBEARER",
              "sasl.oauthbearer.config": "region=eu-west-1,audience=my-kafka",
              "oauth_cb": kafka_iam_oauth.oauth_cb})

Tokens are cached process-wide: every client with the same configuration
shares one STS call per refresh. Failures raise a subclass of
:class:`Error` and are also logged on the ``kafka_iam_oauth`` logger (the
token itself is never logged).
"""

from __future__ import annotations

# Only for type checkers: `typing`, `asyncio` and `logging` cost more to
# import than the rest of the package, and the annotations are strings
# (`from __future__ import annotations`), so none is imported at run time;
# `logging` comes in with the first log record (_native._logger()).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, Optional, Tuple

from ._native import (
    ConfigError,
    CredentialsError,
    Error,
    Provider,
    Stats,
    StsError,
    Token,
    TokenTimeoutError,
    __version__,
    _report_failure,
    check,
    config_keys,
    escape_config_value,
    oauth_cb,
    parse_config,
)

__all__ = [
    "ConfigError",
    "CredentialsError",
    "Error",
    "Provider",
    "Stats",
    "StsError",
    "Token",
    "TokenProvider",
    "TokenTimeoutError",
    "__version__",
    "build_config",
    "check",
    "config_keys",
    "escape_config_value",
    "oauth_cb",
    "parse_config",
]

# The settings `build_config` and `TokenProvider` accept: the core's key
# table (without the `tag_` prefix key, which is the `tags=` mapping here).
_SETTINGS = tuple(k["name"] for k in config_keys() if not k["prefix"])


def build_config(
    *,
    tags: Optional[Mapping[str, str]] = None,
    **settings: Any,
) -> str:
    """Builds a ``sasl.oauthbearer.config`` string from keyword arguments
    named like the config keys (``None`` values are left out)."""
    parts = []
    for key, value in settings.items():
        if key not in _SETTINGS:
            raise ConfigError(
                f"unknown setting {key!r}; expected one of: {', '.join(_SETTINGS)}, tags"
            )
        if value is None:
            continue
        if isinstance(value, bool):  # the grammar's booleans: true / false
            value = "true" if value else "false"
        parts.append(f"{key}={escape_config_value(str(value))}")
    for name, value in (tags or {}).items():
        parts.append(f"tag_{escape_config_value(str(name))}={escape_config_value(str(value))}")
    return ",".join(parts)


def _extensions_string(extensions: Optional[Mapping[str, str]]) -> str:
    if not extensions:
        return ""
    escape = escape_config_value
    return ",".join(f"{escape(k)}={escape(v)}" for k, v in extensions.items())


class TokenProvider:
    """Tokens for one configuration, with keyword arguments named like the
    ``sasl.oauthbearer.config`` keys (or ``config=`` a ready string).

    Callable as a confluent-kafka ``oauth_cb``; ``token()`` returns a
    :class:`Token`; ``await token_async()`` does not block the event loop.
    """

    def __init__(
        self,
        region: Optional[str] = None,
        audience: Optional[str] = None,
        duration_seconds: Optional[int] = None,
        signing_algorithm: Optional[str] = None,
        sts_endpoint: Optional[str] = None,
        aws_debug: Optional[str] = None,
        profile: Optional[str] = None,
        role_arn: Optional[str] = None,
        role_session_name: Optional[str] = None,
        external_id: Optional[str] = None,
        principal_claim: Optional[str] = None,
        subject_mode: Optional[str] = None,
        mint_timeout_seconds: Optional[int] = None,
        allow_insecure_http: Optional[bool] = None,
        tags: Optional[Mapping[str, str]] = None,
        extensions: Optional[Mapping[str, str]] = None,
        *,
        config: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> None:
        # The explicit keywords above are for IDEs and type checkers; the
        # core's key table decides (tests/python/test_config_keys.py keeps
        # the two lists equal).
        given = locals()
        built = build_config(tags=tags, **{key: given.get(key) for key in _SETTINGS})
        if config is not None and built:
            config = config + "," + built
        elif config is None:
            config = built
        self.config_string: str = config
        self.timeout = timeout
        self._provider = Provider(config, _extensions_string(extensions))

    @property
    def config(self) -> Dict[str, Any]:
        """The effective settings (defaults filled in)."""
        return self._provider.config

    @property
    def mint_count(self) -> int:
        """Tokens STS minted for this configuration in this process."""
        return self._provider.mint_count

    def stats(self) -> Stats:
        """Counters and times of this configuration's cache entry: ``mints``,
        ``failures``, ``last_error_kind``, ``expires_in``, ``refresh_in``,
        ``next_attempt_in`` (seconds, or None)."""
        return self._provider.stats()

    def token(self, timeout: Optional[float] = None) -> Token:
        """A token (cached while it has useful lifetime left)."""
        return self._provider.token(self.timeout if timeout is None else timeout)

    async def token_async(self, timeout: Optional[float] = None) -> Token:
        """Like :meth:`token`, without blocking the event loop."""
        cached = self._provider.cached_token()
        if cached is not None:
            return cached
        # Imported here, not at the top: `import asyncio` alone took 44 of
        # the 53 ms `import kafka_iam_oauth` used to take, and only callers
        # of this method need it (they have imported it already).
        import asyncio

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.token, timeout)

    def _token_for_client(self) -> Token:
        """:meth:`token` for a Kafka client library that hides or delays the
        exception (confluent-kafka's "OAuth token not set within 10
        seconds", kafka-python's and aiokafka's connection errors): a
        failure also goes to the logger, and to stderr once per distinct
        failure when the application configured no handler (as ``oauth_cb``
        does)."""
        try:
            return self.token()
        except Error as e:
            _report_failure(e)
            raise

    async def _token_async_for_client(self) -> Token:
        """:meth:`token_async`, reporting a failure like :meth:`_token_for_client`."""
        try:
            return await self.token_async()
        except Error as e:
            _report_failure(e)
            raise

    def __call__(self, _config: Any = None) -> Tuple[str, float, str, Dict[str, str]]:
        """confluent-kafka ``oauth_cb``: ``(token, expiry, principal, extensions)``.
        The argument (``sasl.oauthbearer.config``) is ignored."""
        tok = self._token_for_client()
        return tok.value, tok.expires_at, tok.principal, tok.extensions

    def __repr__(self) -> str:
        c = self.config
        return f"TokenProvider(region={c['region']!r}, audience={c['audience']!r})"
