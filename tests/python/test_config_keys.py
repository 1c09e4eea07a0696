"""Python takes the config keys and the value escaping from the core (the
native module), not from copies of its own."""
import inspect

import pytest

import kafka_iam_oauth
from kafka_iam_oauth import _native

NOT_KEYS = {"self", "tags", "extensions", "config", "timeout"}


def settings():
    return [k["name"] for k in _native.config_keys() if not k["prefix"]]


def test_key_table_comes_from_the_core():
    keys = _native.config_keys()
    names = [k["name"] for k in keys]
    assert names[:2] == ["region", "audience"] and "tag_" in names
    assert len(set(names)) == len(names)
    for k in keys:
        assert set(k) == {"name", "prefix", "ours", "required", "default", "allowed", "doc"}
        assert k["doc"] and isinstance(k["ours"], bool)
    by_name = {k["name"]: k for k in keys}
    assert by_name["duration_seconds"]["default"] == "300"
    assert by_name["region"]["required"] and by_name["region"]["default"] is None
    assert by_name["role_arn"]["ours"] and not by_name["region"]["ours"]


def test_token_provider_keywords_are_the_native_keys():
    params = [p for p in inspect.signature(kafka_iam_oauth.TokenProvider.__init__).parameters
              if p not in NOT_KEYS]
    assert params == settings()


def test_build_config_takes_exactly_the_native_keys():
    for name in settings():
        kafka_iam_oauth.build_config(**{name: None})
    with pytest.raises(kafka_iam_oauth.ConfigError, match="colour"):
        kafka_iam_oauth.build_config(colour="blue")


@pytest.mark.parametrize("value", [
    "plain", "a,b", "back\\slash", "a=b", "tab\there", "new\nline", "cr\rx",
    " leading", "\tleading tab", "k\u00e4fka", ",", "\\", "x\\,y",
])
def test_escaped_values_read_back_unchanged(value):
    escaped = _native.escape_config_value(value)
    # extension values are printable ASCII only (RFC 7628)
    extensions = f"ext={escaped}" if value.isascii() else ""
    got = kafka_iam_oauth.parse_config(f"region=eu-west-1,audience={escaped},tag_t={escaped}", extensions)
    assert got["audience"] == value
    assert got["tag_t"] == value
    if extensions:
        assert got["extensions"] == {"ext": value}


def test_booleans_are_written_as_the_grammar_spells_them():
    config = kafka_iam_oauth.build_config(region="eu-west-1", audience="a", allow_insecure_http=True)
    assert "allow_insecure_http=true" in config
    assert kafka_iam_oauth.parse_config(config)["allow_insecure_http"] is True


def test_parse_config_types_values_by_the_key_table_rule():
    """Integers as int, true/false keys as bool, from each key's `rule` in
    the core's table (not a list of names here)."""
    got = kafka_iam_oauth.parse_config(
        "region=eu-west-1,audience=a,duration_seconds=900,mint_timeout_seconds=7,"
        "allow_insecure_http=FALSE,tag_n=5")
    assert got["duration_seconds"] == 900 and type(got["duration_seconds"]) is int
    assert got["mint_timeout_seconds"] == 7 and type(got["mint_timeout_seconds"]) is int
    assert got["allow_insecure_http"] is False
    assert got["tag_n"] == "5", "tag values stay text"
    assert got["region"] == "eu-west-1"
    # the provider's effective config is typed the same way
    assert kafka_iam_oauth.Provider("region=eu-west-1,audience=a").config == \
        kafka_iam_oauth.parse_config("region=eu-west-1,audience=a")


def test_build_config_round_trips_through_the_parser():
    config = kafka_iam_oauth.build_config(
        region="eu-west-1", audience="a,b\\c", duration_seconds=900,
        tags={"team": " pay,ments"})
    got = kafka_iam_oauth.parse_config(config)
    assert (got["audience"], got["duration_seconds"], got["tag_team"]) == ("a,b\\c", 900, " pay,ments")
