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

import asyncio
import logging
from typing import Any, Dict, Mapping, Optional, Tuple

from ._native import (
    ConfigError,
    CredentialsError,
    Error,
    Provider,
    StsError,
    Token,
    TokenTimeoutError,
    __version__,
    oauth_cb,
    parse_config,
)

__all__ = [
    "ConfigError",
    "CredentialsError",
    "Error",
    "Provider",
    "StsError",
    "Token",
    "TokenProvider",
    "TokenTimeoutError",
    "__version__",
    "build_config",
    "oauth_cb",
    "parse_config",
]

logging.getLogger("kafka_iam_oauth").addHandler(logging.NullHandler())

_KEYS = (
    "region",
    "audience",
    "duration_seconds",
    "signing_algorithm",
    "sts_endpoint",
    "aws_debug",
    "profile",
    "role_arn",
    "role_session_name",
    "external_id",
    "principal_claim",
)


def _escape(value: str) -> str:
    out = []
    for ch in value:
        if ch in "\\,":
            out.append("\\" + ch)
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        else:
            out.append(ch)
    s = "".join(out)
    # leading whitespace would be trimmed: escape it
    if s[:1].isspace():
        s = "\\" + s
    return s


def build_config(
    *,
    tags: Optional[Mapping[str, str]] = None,
    **settings: Any,
) -> str:
    """Builds a ``sasl.oauthbearer.config`` string from keyword arguments
    named like the config keys (``None`` values are left out)."""
    parts = []
    for key, value in settings.items():
        if key not in _KEYS:
            raise ConfigError(
                f"unknown setting {key!r}; expected one of: {', '.join(_KEYS)}, tags"
            )
        if value is None:
            continue
        parts.append(f"{key}={_escape(str(value))}")
    for name, value in (tags or {}).items():
        parts.append(f"tag_{_escape(str(name))}={_escape(str(value))}")
    return ",".join(parts)


def _extensions_string(extensions: Optional[Mapping[str, str]]) -> str:
    if not extensions:
        return ""
    return ",".join(f"{_escape(k)}={_escape(v)}" for k, v in extensions.items())


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
        tags: Optional[Mapping[str, str]] = None,
        extensions: Optional[Mapping[str, str]] = None,
        *,
        config: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> None:
        built = build_config(
            region=region,
            audience=audience,
            duration_seconds=duration_seconds,
            signing_algorithm=signing_algorithm,
            sts_endpoint=sts_endpoint,
            aws_debug=aws_debug,
            profile=profile,
            role_arn=role_arn,
            role_session_name=role_session_name,
            external_id=external_id,
            principal_claim=principal_claim,
            tags=tags,
        )
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

    def token(self, timeout: Optional[float] = None) -> Token:
        """A token (cached while it has useful lifetime left)."""
        return self._provider.token(self.timeout if timeout is None else timeout)

    async def token_async(self, timeout: Optional[float] = None) -> Token:
        """Like :meth:`token`, without blocking the event loop."""
        cached = self._provider.cached_token()
        if cached is not None:
            return cached
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.token, timeout)

    def __call__(self, _config: Any = None) -> Tuple[str, float, str, Dict[str, str]]:
        """confluent-kafka ``oauth_cb``: ``(token, expiry, principal, extensions)``.
        The argument (``sasl.oauthbearer.config``) is ignored."""
        try:
            tok = self.token()
        except Error as e:
            code = f" [{e.aws_code}]" if e.aws_code else ""
            logging.getLogger("kafka_iam_oauth").error(
                "kafka_iam_oauth: no OAUTHBEARER token (%s error%s): %s", e.kind, code, e
            )
            raise
        return tok.value, tok.expires_at, tok.principal, tok.extensions

    def __repr__(self) -> str:
        c = self.config
        return f"TokenProvider(region={c['region']!r}, audience={c['audience']!r})"
