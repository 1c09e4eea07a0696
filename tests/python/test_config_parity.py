"""Our parser accepts and refuses exactly what confluent-kafka's AWS parser
does, with the same values, on Confluent's grammar.

Left out on purpose: our own keys (profile, role_arn, role_session_name,
external_id, principal_claim, subject_mode, audience_2 ... audience_10),
sts_endpoint (we require an http(s) URL,
Confluent takes any non-empty string) and audiences over 1000 characters
(STS's limit, which we check up front).

One known difference, tested below: Python's int() reads non-ASCII decimal
digits ("٦٠", "１２０"), so Confluent accepts duration_seconds written in them;
the core reads ASCII digits only and refuses them with a config error."""
import itertools

import pytest
from confluent_kafka._oauthbearer.aws.aws_oauthbearer_config import AwsOAuthBearerConfig

import kafka_iam_oauth

BASE = "region=eu-west-1,audience=kafka"

CASES = [
    BASE,
    "",
    ",",
    ",,,",
    "region=eu-west-1",
    "audience=kafka",
    " region=eu-west-1 , audience=kafka ",
    "region=eu-west-1,,audience=kafka,",
    "\tregion=eu-west-1,\naudience=kafka",
    "region =eu-west-1,audience=kafka",
    "region= eu-west-1,audience=kafka",
    "region=eu-west-1,audience=kafka ",
    "region=eu-west-1,audience= kafka",
    "region=,audience=kafka",
    "region=eu-west-1,audience=",
    "region=eu-west-1,audience",
    "region=eu-west-1,audience=kafka,junk",
    "=x," + BASE,
    "region=eu-west-1,audience=a\\,b",
    "region=eu-west-1,audience=a\\\\b",
    "region=eu-west-1,audience=a\\=b",
    "region=eu-west-1,audience=a=b=c",
    "region=eu-west-1,audience=a\\tb",
    "region=eu-west-1,audience=a\\nb",
    "region=eu-west-1,audience=x\\ ",
    "region=eu-west-1,audience=\\ x",
    "region=eu-west-1,audience=a\\",
    "region=eu-west-1,audience=kafka,region=us-east-1",
    "region=eu-west-1,audience=one,audience=two",
    "region=eu-west-1,audience=kafka,audience=",
    "Region=eu-west-1,audience=kafka",
    "REGION=eu-west-1,AUDIENCE=kafka",
    BASE + ",unknown=1",
    BASE + ",extension_foo=bar",
    BASE + ",tag_team=platform",
    BASE + ",tag_team=platform,tag_env=prod",
    BASE + ",tag_team=a,tag_team=b",
    BASE + ",tag_=x",
    BASE + ",tag_team=",
    BASE + ",tag_a\\,b=c",
    BASE + ",TAG_team=x",
    BASE + "," + ",".join(f"tag_k{i}=v" for i in range(50)),
    BASE + "," + ",".join(f"tag_k{i}=v" for i in range(51)),
    BASE + "," + ",".join(f"tag_k{i % 50}=v" for i in range(60)),
    BASE + ",signing_algorithm=ES384",
    BASE + ",signing_algorithm=RS256",
    BASE + ",signing_algorithm=es384",
    BASE + ",signing_algorithm=rs256",
    BASE + ",signing_algorithm=HS256",
    BASE + ",signing_algorithm=",
    BASE + ",signing_algorithm= RS256",
    BASE + ",aws_debug=none",
    BASE + ",aws_debug=console",
    BASE + ",aws_debug=CONSOLE",
    BASE + ",aws_debug=None",
    BASE + ",aws_debug=verbose",
    BASE + ",aws_debug=",
    "region=" + "r" * 300 + ",audience=kafka",
    "region=eu-west-1,audience=" + "a" * 1000,
    "region=eu-west-1,audience=kafka\\,,",
    "region=eu-west-1,\\,audience=kafka",
    "region=eu-west-1,audience=k\u00e4fka",
    "region=eu-west-1,audience=kafka,\\",
]

DURATIONS = [
    "60", "300", "3600", "59", "3601", "0", "-60", "", " ", " +3_600", "3_600",
    "3__600", "_3600", "3600_", "+60", "--60", "0x3c", "1e3", "600.0", "0600",
    "00060", " 600 ", "\\ 600", "600\\t", "99999999999999999999999",
    "+", "-", "6 0", "60,", "300\\,",
]
CASES += [f"{BASE},duration_seconds={d}" for d in DURATIONS]
CASES += [f"duration_seconds={d},{BASE}" for d in ("60", "x")]

# a few mixed combinations
PARTS = ["duration_seconds=900", "signing_algorithm=RS256", "aws_debug=Console", "tag_x=1", "bogus=1", "region=", "audience=z"]
for a, b in itertools.combinations(PARTS, 2):
    CASES.append(f"{BASE},{a},{b}")


def confluent(raw):
    try:
        c = AwsOAuthBearerConfig.parse(raw)
    except ValueError:
        return None
    return {
        "region": c.region,
        "audience": c.audience,
        "duration_seconds": c.duration_seconds,
        "signing_algorithm": c.signing_algorithm,
        "aws_debug": c.aws_debug,
        "tags": dict(c.tags or {}),
    }


def ours(raw):
    try:
        c = kafka_iam_oauth.parse_config(raw)
    except kafka_iam_oauth.ConfigError:
        return None
    return {
        "region": c["region"],
        "audience": c["audience"],
        "duration_seconds": c["duration_seconds"],
        "signing_algorithm": c["signing_algorithm"],
        "aws_debug": c["aws_debug"],
        "tags": {k[4:]: v for k, v in c.items() if k.startswith("tag_")},
    }


@pytest.mark.parametrize("raw", CASES, ids=[repr(c)[:60] for c in CASES])
def test_same_outcome_as_confluent(raw):
    expected = confluent(raw)
    got = ours(raw)
    if expected is None:
        assert got is None, f"Confluent refuses {raw!r}, we accepted {got}"
    else:
        assert got == expected


def test_cases_include_both_outcomes():
    outcomes = [confluent(c) is None for c in CASES]
    assert any(outcomes) and not all(outcomes)


@pytest.mark.parametrize("digits", ["\u0666\u0660", "\uff11\uff12\uff10"])
def test_non_ascii_digits_are_refused(digits):
    raw = f"{BASE},duration_seconds={digits}"
    assert confluent(raw) is not None  # the difference is real
    with pytest.raises(kafka_iam_oauth.ConfigError, match="duration_seconds"):
        kafka_iam_oauth.parse_config(raw)


@pytest.mark.parametrize("extra", [
    "audience_2=rest-proxy",
    "audience_2=a\\,b,audience_3=c",
    "subject_mode=origin_identity",
])
def test_our_issue_10_keys_are_refused_by_confluent_not_misread(extra):
    """More audiences and subject_mode are our own keys: Confluent's parser
    refuses them as unknown keys (a string meant for us never turns into a
    different single audience there); we read them."""
    raw = f"{BASE},{extra}"
    assert confluent(raw) is None
    got = kafka_iam_oauth.parse_config(raw)
    assert got["audience"] == "kafka"
    if extra.startswith("audience_2=a"):
        assert (got["audience_2"], got["audience_3"]) == ("a,b", "c")
