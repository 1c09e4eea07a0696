"""Providers are values (issue 23): copy.copy, copy.deepcopy and pickle of
every provider class. A copy shares the original's cache entry (no STS
call); a pickle carries the configuration and is rebuilt where it is
loaded. Karapace's start-up (a pydantic model holding the provider in a
PrivateAttr, deep-copied by a dependency-injector container) is reproduced
with the real libraries, and a `spawn` pool mints with a pickled provider."""
import asyncio
import copy
import multiprocessing
import pickle

import pytest

import kafka_iam_oauth
from kafka_iam_oauth import Provider, TokenProvider
from kafka_iam_oauth.aiokafka import AIOKafkaTokenProvider
from kafka_iam_oauth.http import RestProxyAuth
from kafka_iam_oauth.kafka_python import KafkaPythonTokenProvider
from kafka_iam_oauth.karapace import CONFIG_ENV, EXTENSIONS_ENV, KarapaceTokenProvider
from conftest import PRINCIPAL, fresh_config, sts_calls

EXTENSIONS = {"logicalCluster": "lkc-copy"}


def _value(obj) -> str:
    """The JWT each class hands its client, through that client's own call."""
    if isinstance(obj, Provider):
        return obj.token().value
    if isinstance(obj, TokenProvider):
        return obj.token().value
    if isinstance(obj, KarapaceTokenProvider):
        return obj.token_with_expiry(None)[0]
    if isinstance(obj, KafkaPythonTokenProvider):
        return obj.token()
    if isinstance(obj, AIOKafkaTokenProvider):
        return asyncio.run(obj.token())
    if isinstance(obj, RestProxyAuth):
        return obj.header().removeprefix("Bearer ")
    raise AssertionError(f"no token call for {type(obj).__name__}")


def _native(obj) -> Provider:
    """The native provider (the cache entry's handle) inside each class."""
    while not isinstance(obj, Provider):
        obj = obj._provider if isinstance(obj, TokenProvider) else obj.provider
    return obj


def _build(kind: str, config: str, monkeypatch):
    if kind == "Provider":
        return Provider(config, "logicalCluster=lkc-copy")
    if kind == "TokenProvider":
        return TokenProvider(config=config, extensions=EXTENSIONS, timeout=5)
    if kind == "KarapaceTokenProvider":
        # As Karapace builds it: no arguments, configuration from the environment.
        monkeypatch.setenv(CONFIG_ENV, config)
        monkeypatch.setenv(EXTENSIONS_ENV, "logicalCluster=lkc-copy")
        return KarapaceTokenProvider()
    if kind == "KafkaPythonTokenProvider":
        return KafkaPythonTokenProvider(config=config, extensions=EXTENSIONS)
    if kind == "AIOKafkaTokenProvider":
        return AIOKafkaTokenProvider(config=config, extensions=EXTENSIONS)
    if kind == "RestProxyAuth":
        return RestProxyAuth(config=config, extensions=EXTENSIONS, margin_seconds=60)
    raise AssertionError(kind)


KINDS = [
    "Provider",
    "TokenProvider",
    "KarapaceTokenProvider",
    "KafkaPythonTokenProvider",
    "AIOKafkaTokenProvider",
    "RestProxyAuth",
]


@pytest.mark.parametrize("kind", KINDS)
def test_copies_share_the_cache_entry_and_pickles_rebuild_it(kind, monkeypatch):
    original = _build(kind, fresh_config("copy"), monkeypatch)
    first = _value(original)
    mints = _native(original).mint_count
    assert mints == 1

    shallow, deep = copy.copy(original), copy.deepcopy(original)
    loaded = pickle.loads(pickle.dumps(original))
    for other in (shallow, deep, loaded):
        assert type(other) is type(original)
        # Same process, same configuration: the same cache entry, the same token.
        assert _value(other) == first
        assert _native(other).config == _native(original).config
        assert _native(other).cached_token().extensions == EXTENSIONS
    # The native provider is immutable: its copies are itself.
    assert _native(shallow) is _native(original) and _native(deep) is _native(original)
    # The entry's own count of STS calls (the emulator's counter also sees
    # other entries' background refreshes).
    assert _native(original).mint_count == mints, "a copy or an unpickled provider called STS"


def test_a_pickled_provider_refuses_a_bad_configuration_when_loaded():
    # The pickle is the configuration, parsed again where it is loaded: a
    # string changed on the way fails with the core's error naming the key.
    data = pickle.dumps(Provider(fresh_config("bad")))
    tampered = data.replace(b"region=eu-west-1", b"regiox=eu-west-1")  # same length
    assert tampered != data
    with pytest.raises(kafka_iam_oauth.ConfigError, match="regiox"):
        pickle.loads(tampered)


def test_a_token_copies_but_refuses_to_be_pickled():
    tok = TokenProvider(config=fresh_config("tok")).token()
    assert copy.copy(tok) is tok and copy.deepcopy(tok) is tok
    with pytest.raises(TypeError, match="short-lived bearer secret") as ei:
        pickle.dumps(tok)
    assert tok.value not in str(ei.value)


def test_rest_proxy_auth_copy_has_its_own_lock_and_no_token():
    auth = RestProxyAuth(config=fresh_config("rest"), margin_seconds=60)
    auth.header()
    assert auth.current_token is not None
    for other in (copy.copy(auth), copy.deepcopy(auth), pickle.loads(pickle.dumps(auth))):
        assert other.current_token is None and other._lock is not auth._lock
        assert other.header() == auth.header()


def test_karapace_config_deep_copied_by_a_dependency_injector_container(monkeypatch):
    """Karapace's start-up: its pydantic Config keeps the provider in a
    private attribute, and its container deep-copies the config when it is
    built (dependency_injector's deepcopy_kwargs -> BaseModel.__deepcopy__)."""
    pydantic = pytest.importorskip("pydantic")
    containers = pytest.importorskip("dependency_injector.containers")
    providers = pytest.importorskip("dependency_injector.providers")
    assert pydantic.VERSION.startswith("2."), pydantic.VERSION

    monkeypatch.setenv(CONFIG_ENV, fresh_config("karapace"))

    class Config(pydantic.BaseModel):
        bootstrap_uri: str = "127.0.0.1:9092"
        _token_provider: object = pydantic.PrivateAttr(default=None)

    config = Config()
    config._token_provider = KarapaceTokenProvider()
    original = config._token_provider

    class SchemaReader:
        def __init__(self, config: Config) -> None:
            self.config = config

    class Container(containers.DeclarativeContainer):
        reader = providers.Singleton(SchemaReader, config=config)

    reader = Container().reader()  # builds: deep-copies its keyword arguments
    provider = reader.config._token_provider
    assert reader.config is not config, "the container did not deep-copy the config"
    assert provider is not original and isinstance(provider, KarapaceTokenProvider)
    value, expiry = provider.token_with_expiry(None)
    assert value.count(".") == 2 and expiry > 0
    assert original.token_with_expiry(None)[0] == value, "the copy is on another cache entry"
    assert _native(original).mint_count == 1, "the copy and the original share one mint"


def _mint_in_worker(provider: TokenProvider):
    """Runs in a spawned worker: a fresh interpreter with its own cache."""
    tok = provider.token()
    return tok.principal, provider.mint_count, multiprocessing.current_process().pid


def test_spawn_pool_workers_mint_with_a_pickled_provider():
    provider = TokenProvider(config=fresh_config("spawn"), extensions=EXTENSIONS, timeout=20)
    calls = sts_calls()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        # One task per worker at a time, so every worker mints once.
        results = pool.map(_mint_in_worker, [provider] * 4, chunksize=1)
    assert all(principal == PRINCIPAL for principal, _, _ in results)
    assert all(mints == 1 for _, mints, _ in results), results
    workers = {pid for _, _, pid in results}
    # Each worker process that ran a task minted once in its own cache; the
    # parent never minted.
    assert provider.mint_count == 0
    assert sts_calls() - calls >= len(workers) >= 1
