"""Provider.stats() / TokenProvider.stats(): what the cache entry has done,
read after a mint and after a failure instead of scraping logs."""
import pytest

import kafka_iam_oauth
from kafka_iam_oauth import Stats, StsError, TokenProvider
from conftest import emulator, fresh_config


def test_stats_of_a_fresh_provider_are_empty():
    s = kafka_iam_oauth.Provider(fresh_config("stats0")).stats()
    assert isinstance(s, Stats)
    assert (s.mints, s.failures, s.last_error_kind) == (0, 0, None)
    assert (s.expires_in, s.refresh_in, s.next_attempt_in) == (None, None, None)


def test_stats_after_a_mint():
    p = kafka_iam_oauth.Provider(fresh_config("stats1"))
    tok = p.token()
    s = p.stats()
    assert (s.mints, s.failures, s.last_error_kind, s.next_attempt_in) == (1, 0, None, None)
    assert isinstance(s.expires_in, float) and 0 < s.expires_in <= tok.remaining_seconds + 1
    assert isinstance(s.refresh_in, float) and 0 <= s.refresh_in <= s.expires_in
    assert s._asdict()["mints"] == 1
    assert tok.value not in repr(s), "no token in the repr"


def test_stats_after_a_failure_name_the_exception_kind(emulator_reset):
    emulator("/_emulator/policy", {"federation_enabled": False})
    tp = TokenProvider(config=fresh_config("stats2"))
    with pytest.raises(StsError) as ei:
        tp.token()
    s = tp.stats()
    assert (s.mints, s.failures) == (0, 1)
    assert s.last_error_kind == ei.value.kind == "sts"
    assert s.expires_in is None and s.refresh_in is None
    assert isinstance(s.next_attempt_in, float) and s.next_attempt_in > 0
    assert 'last_error_kind="sts"' in repr(s)
