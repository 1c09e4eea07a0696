"""The .pyi stub matches the compiled module."""
import subprocess
import sys


def test_stubtest():
    out = subprocess.run([sys.executable, "-m", "mypy.stubtest", "kafka_iam_oauth._native"],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
