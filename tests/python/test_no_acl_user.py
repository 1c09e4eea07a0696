"""The principal in the token is the IAM identity the process runs as, and the
broker's ACLs apply to it: `no-acl-user` ($KIO_NOACL_ACCESS_KEY_ID) may write
my-topic but has no ACL on my-consumer-group, so its consumer is refused the
group, the way a user of the Aiven guide would see it.

Runs in a child process: AWS credentials come from the environment, which is
process-wide."""
import os
import subprocess
import sys
import textwrap

from conftest import CONFIG, ENV, GROUP, TOPIC

NO_ACL_PRINCIPAL = ENV["KIO_NOACL_ARN"]

SCRIPT = textwrap.dedent("""
    import sys, time
    from confluent_kafka import Consumer, KafkaError, Producer
    import kafka_iam_oauth

    bootstrap, config, topic, group = sys.argv[1:5]
    tok, expiry, principal, ext = kafka_iam_oauth.oauth_cb(config)
    print("principal", principal)
    conf = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.config": config,
            "oauth_cb": kafka_iam_oauth.oauth_cb}
    delivered = []
    p = Producer({**conf, "message.timeout.ms": 20000})
    p.produce(topic, b"from no-acl-user", on_delivery=lambda err, msg: delivered.append(err))
    p.flush(30)
    print("produce", "ok" if delivered == [None] else delivered)
    c = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    verdict, deadline = "no error", time.time() + 30
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is not None:
            verdict = m.error().name()
            break
        if m is not None:
            verdict = "consumed"
            break
    c.close()
    print("consume", verdict)
    """)


def test_user_without_group_acl_is_refused_the_group(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(empty),
               AWS_SHARED_CREDENTIALS_FILE=str(empty),
               AWS_ACCESS_KEY_ID=ENV["KIO_NOACL_ACCESS_KEY_ID"],
               AWS_SECRET_ACCESS_KEY=ENV["KIO_NOACL_SECRET_ACCESS_KEY"])
    out = subprocess.run([sys.executable, "-c", SCRIPT, ENV["KIO_BOOTSTRAP_PLAINTEXT"], CONFIG, TOPIC, GROUP],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert f"principal {NO_ACL_PRINCIPAL}" in lines, out.stdout
    assert "produce ok" in lines, out.stdout  # the topic ACL covers this user
    assert "consume GROUP_AUTHORIZATION_FAILED" in lines, out.stdout + out.stderr
