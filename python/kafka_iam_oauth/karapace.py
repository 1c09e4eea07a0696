"""A token provider for Karapace's own Kafka clients
(``sasl_oauth_token_provider_class``), so Karapace itself authenticates to
Kafka as an AWS IAM principal::

    KARAPACE_SECURITY_PROTOCOL=SASL_SSL
    KARAPACE_SASL_MECHANISM=OAUTHBEARER
    KARAPACE_SASL_OAUTH_TOKEN_PROVIDER_CLASS=kafka_iam_oauth.karapace:KarapaceTokenProvider
    KAFKA_IAM_OAUTH_CONFIG=region=eu-west-1,audience=my-kafka.example.com,duration_seconds=3600

Karapace imports the class and instantiates it once, without arguments, when
it reads its configuration; its Kafka clients (confluent-kafka) then call
``token_with_expiry(config)`` as their ``oauth_cb`` whenever librdkafka needs
a token. Without arguments the configuration comes from the environment:
``KAFKA_IAM_OAUTH_CONFIG`` (a ``sasl.oauthbearer.config`` string, the same
keys as everywhere else) and, optionally, ``KAFKA_IAM_OAUTH_EXTENSIONS``.
A subclass, or direct use, may pass the configuration instead.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Tuple

from . import ConfigError, TokenProvider

__all__ = ["KarapaceTokenProvider", "CONFIG_ENV", "EXTENSIONS_ENV"]

#: The environment variable read when the class is built without arguments.
CONFIG_ENV = "KAFKA_IAM_OAUTH_CONFIG"
#: Optional SASL extensions (``sasl.oauthbearer.extensions`` syntax).
EXTENSIONS_ENV = "KAFKA_IAM_OAUTH_EXTENSIONS"


def _extensions_from(raw: str) -> dict:
    # Parsed by the core (one grammar), then handed over as a mapping.
    from . import parse_config

    return dict(parse_config("region=x,audience=x", raw).get("extensions") or {})


class KarapaceTokenProvider:
    """Karapace's ``TokenWithExpiryProvider``: ``token_with_expiry(config)``
    returns ``(token, expiry)``, expiry in Unix seconds. Tokens come from the
    process-wide cache, refreshed ahead of expiry; a failure raises (the
    Kafka client reports it and asks again)."""

    def __init__(self, provider: Optional[TokenProvider] = None, **kwargs: Any) -> None:
        if provider is None and not kwargs:
            config = os.environ.get(CONFIG_ENV, "").strip()
            if not config:
                raise ConfigError(
                    f"KarapaceTokenProvider: set {CONFIG_ENV} to a sasl.oauthbearer.config string "
                    "(e.g. region=eu-west-1,audience=my-kafka.example.com,duration_seconds=3600); "
                    "Karapace builds this class without arguments"
                )
            extensions = os.environ.get(EXTENSIONS_ENV, "")
            kwargs = {"config": config}
            if extensions:
                kwargs["extensions"] = _extensions_from(extensions)
        self.provider = provider if provider is not None else TokenProvider(**kwargs)

    def token_with_expiry(self, _config: Optional[str] = None) -> Tuple[str, int]:
        """``(token, expiry)`` for librdkafka's ``oauth_cb`` (the argument,
        ``sasl.oauthbearer.config``, is ignored). The expiry is rounded
        down to whole seconds, as Karapace's protocol types it."""
        # TokenProvider's oauth_cb: a failure is also logged, and written to
        # stderr once when no handler is configured (librdkafka only says
        # "OAuth token not set").
        value, expires_at, _principal, _extensions = self.provider(_config)
        return value, int(expires_at)

    def __repr__(self) -> str:
        return f"KarapaceTokenProvider(provider={self.provider!r})"
