"""The one abi3 wheel loads and mints on every CPython 3.9+ on this machine."""
import glob
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import CONFIG, PRINCIPAL

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]


def interpreters():
    found = {}
    for v in VERSIONS:
        for cand in [shutil.which(f"python{v}")] + glob.glob(os.path.expanduser(f"~/.pyenv/versions/{v}*/bin/python{v}")):
            if cand and subprocess.run([cand, "-c", "pass"], capture_output=True).returncode == 0:
                found[v] = cand
                break
    return found


def test_wheel_is_abi3_manylinux():
    wheels = sorted((ROOT / "build" / "wheels").glob("kafka_iam_oauth-*.whl"))
    assert wheels, "make test-python builds the wheel into build/wheels"
    assert "-cp39-abi3-" in wheels[-1].name


@pytest.mark.parametrize("version", VERSIONS)
def test_wheel_works_on(version, tmp_path):
    exe = interpreters().get(version)
    if exe is None:
        pytest.skip(f"no CPython {version} on this machine")
    wheel = sorted((ROOT / "build" / "wheels").glob("kafka_iam_oauth-*.whl"))[-1]
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path)
    code = ("import sys, kafka_iam_oauth as k; t = k.oauth_cb(sys.argv[1]); "
            "print(sys.version_info[:2], t[2])")
    out = subprocess.run([exe, "-c", code, CONFIG], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert PRINCIPAL in out.stdout and f"({version.split('.')[0]}, {version.split('.')[1]})" in out.stdout
