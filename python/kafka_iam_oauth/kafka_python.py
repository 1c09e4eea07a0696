"""``sasl_oauth_token_provider`` for kafka-python::

    from kafka import KafkaProducer
    from kafka_iam_oauth.kafka_python import KafkaPythonTokenProvider

    KafkaProducer(bootstrap_servers=..., security_protocol="SASL_SSL",
                  sasl_mechanism="OAUTHBEARER",
                  sasl_oauth_token_provider=KafkaPythonTokenProvider(
                      region="eu-west-1", audience="my-kafka.example.com"))
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from . import TokenProvider

try:  # kafka-python 3.x
    from kafka.net.sasl.oauth import AbstractTokenProvider as _Base
except ImportError:  # pragma: no cover - older kafka-python
    try:
        from kafka.sasl.oauth import AbstractTokenProvider as _Base  # type: ignore[no-redef]
    except ImportError:
        from kafka.oauth.abstract import AbstractTokenProvider as _Base  # type: ignore[no-redef]

__all__ = ["KafkaPythonTokenProvider"]


class KafkaPythonTokenProvider(_Base):  # type: ignore[misc,valid-type]
    """kafka-python token provider backed by the process-wide token cache.
    Takes a :class:`~kafka_iam_oauth.TokenProvider` or its keyword arguments."""

    def __init__(self, provider: Optional[TokenProvider] = None, **kwargs: Any) -> None:
        self.provider = provider if provider is not None else TokenProvider(**kwargs)

    # kafka-python turns the exception into a connection error on its own
    # `kafka` logger: the reason also goes to ours (stderr without logging).
    def token(self) -> str:
        return self.provider._token_for_client().value

    def extensions(self) -> Dict[str, str]:
        return self.provider._token_for_client().extensions
