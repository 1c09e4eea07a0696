#!/usr/bin/env bash
# maturin, with the wheel's third-party licences and SBOM generated first:
# scripts/packages/licenses.py writes build/wheel-licences/
# THIRD-PARTY-LICENSES.txt and sbom.cdx.json for the extension crate
# (kafka-iam-oauth-python: the core, the CLI, PyO3 and what they link),
# and pyproject.toml's `license-files` puts both into every wheel's
# .dist-info/licenses/ (and into the sdist, whose wheels then carry them).
# Regenerated before every build, so a dependency change never ships a
# stale list; `cargo metadata` only, about a second.
# The list is the union of the Linux targets the wheels are built for (one
# list for all of them: wheel builds of several targets may run at once and
# write the same files; the four graphs are the same today).
# Usage: maturin.sh MATURIN ARGS...   e.g. maturin.sh build/venv/bin/maturin build --release
set -euo pipefail
targets=x86_64-unknown-linux-gnu,aarch64-unknown-linux-gnu,x86_64-unknown-linux-musl,aarch64-unknown-linux-musl
(cd "$(dirname "$0")/../.." && python3 scripts/packages/licenses.py "$targets" build/wheel-licences kafka-iam-oauth-python >/dev/null)
exec "$@"
