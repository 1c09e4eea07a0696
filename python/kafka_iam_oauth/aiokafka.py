"""``sasl_oauth_token_provider`` for aiokafka::

    from aiokafka import AIOKafkaProducer
    from kafka_iam_oauth.aiokafka import AIOKafkaTokenProvider

    AIOKafkaProducer(bootstrap_servers=..., security_protocol="SASL_SSL",
                     sasl_mechanism="OAUTHBEARER",
                     sasl_oauth_token_provider=AIOKafkaTokenProvider(
                         region="eu-west-1", audience="my-kafka.example.com"))

``token()`` never blocks the event loop: a cached token is returned at once,
a mint runs in a worker thread.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from aiokafka.abc import AbstractTokenProvider as _Base

from . import TokenProvider

__all__ = ["AIOKafkaTokenProvider"]


class AIOKafkaTokenProvider(_Base):  # type: ignore[misc]
    """aiokafka token provider backed by the process-wide token cache.
    Takes a :class:`~kafka_iam_oauth.TokenProvider` or its keyword arguments."""

    def __init__(self, provider: Optional[TokenProvider] = None, **kwargs: Any) -> None:
        self.provider = provider if provider is not None else TokenProvider(**kwargs)

    # aiokafka turns the exception into a connection error: the reason
    # also goes to our logger (stderr without logging configured).
    async def token(self) -> str:
        return (await self.provider._token_async_for_client()).value

    def extensions(self) -> Dict[str, str]:
        cached = self.provider._provider.cached_token()
        return (cached or self.provider._token_for_client()).extensions
