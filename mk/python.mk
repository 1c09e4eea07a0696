# Python: the abi3 wheel (maturin from PyPI), built once into build/wheels/,
# installed into build/venv with the client libraries; pytest runs against
# that install (tests/python), never the source tree.
TEST_SUITES += test-python
DEMOS += demo-python

PY_VENV := build/venv
PY := $(PY_VENV)/bin/python
PY_WHEELS := build/wheels
PY_STAMP := $(PY_WHEELS)/.built
PY_SOURCES := $(wildcard src/*.rs src/*/*.rs bindings/python/src/*.rs bindings/python/Cargo.toml cli/Cargo.toml cli/src/*.rs cli/src/*/*.rs python/kafka_iam_oauth/*) Cargo.toml Cargo.lock pyproject.toml \
  scripts/packages/licenses.py scripts/packages/maturin.sh
PY_DEPS := "maturin>=1.9.3,<2" ziglang pytest "confluent-kafka>=2.15" kafka-python aiokafka requests httpx mypy
PY_TEST_ENV := AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=$$KIO_USER_ACCESS_KEY_ID \
  AWS_SECRET_ACCESS_KEY=$$KIO_USER_SECRET_ACCESS_KEY

$(PY_VENV)/.deps:
	python3 -m venv $(PY_VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(PY_DEPS)
	touch $@

# Test-only packages, their own step so an existing venv gets them too:
# PyJWT verifies tokens against the emulator's JWKS in the Karapace
# stand-in (tests/python/restproxy.py), as Karapace does; pydantic and
# dependency-injector reproduce Karapace deep-copying its configuration
# (tests/python/test_copy_pickle.py).
PY_TEST_DEPS := "pyjwt[crypto]>=2.8" "pydantic>=2,<3" "dependency-injector>=4.41"
$(PY_VENV)/.test-deps: $(PY_VENV)/.deps
	$(PY) -m pip install -q $(PY_TEST_DEPS)
	touch $@

# manylinux2014 (glibc 2.17) by linking with zig (PyPI package ziglang),
# in its own target dir so the C dependencies built with zig cc never mix
# with the shared target/. If that fails, the host's own tag (docs/python.md).
# PY_MATURIN is the one wheel build command; mk/dist.mk runs it too, for
# each release target (callers add profile, target, compatibility, -o).
# PY_MATURIN_RUN runs maturin after writing the third-party licences and
# SBOM the wheel and sdist carry (scripts/packages/maturin.sh, pyproject.toml
# license-files).
PY_ZIG_TARGET := $(ROOT)/build/zig-target
PY_MATURIN_RUN := $(ROOT)/scripts/packages/maturin.sh $(abspath $(PY_VENV))/bin/maturin
PY_MATURIN := $(PY_MATURIN_RUN) build --strip --zig
$(PY_STAMP): $(PY_VENV)/.deps $(PY_SOURCES)
	@mkdir -p $(PY_WHEELS)
	rm -f $(PY_WHEELS)/kafka_iam_oauth-*.whl
	PATH="$(abspath $(PY_VENV))/bin:$$PATH" CARGO_TARGET_DIR=$(PY_ZIG_TARGET) \
	  $(PY_MATURIN) --release --compatibility manylinux2014 -o $(PY_WHEELS) \
	  || { echo "python-wheel: manylinux2014 via zig failed; building for this host's glibc" >&2; \
	       $(PY_MATURIN_RUN) build --release --strip -o $(PY_WHEELS); }
	$(PY) -m pip install -q --force-reinstall --no-deps $(PY_WHEELS)/kafka_iam_oauth-*.whl
	touch $@

python-wheel: $(PY_STAMP)

test-python: $(PY_STAMP) $(PY_VENV)/.test-deps
	source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	  cd tests/python && $(PY_TEST_ENV) ../../$(PY) -m pytest -p no:cacheprovider -q -ra .

demo-python: $(PY_STAMP)
	source "$${KIO_RUN_DIR:-harness/.run}/env.sh" && \
	  $(PY_TEST_ENV) AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	  $(PY) examples/python/produce_consume.py

.PHONY: python-wheel test-python demo-python

# Side-by-side oauth_cb benchmark (ours, confluent-kafka's [oauthbearer-aws]
# extra, the Aiven guide's boto3 function); part of `make bench`.
$(PY_VENV)/.bench-deps: $(PY_VENV)/.deps
	$(PY) -m pip install -q "confluent-kafka[oauthbearer-aws]>=2.15"
	touch $@

bench-python: $(PY_STAMP) $(PY_VENV)/.bench-deps
	$(CARGO_BUILD_DEV)
	env -u KIO_EMULATOR_URL $(PY) tests/python/bench_oauth_cb.py

# `import kafka_iam_oauth` next to bare Python, side by side (issue 9's goal:
# at most twice bare Python's time). hyperfine from Debian when installed,
# else a loop of -X importtime runs.
bench-python-import: $(PY_STAMP)
	@if command -v hyperfine >/dev/null; then \
	  hyperfine -N --warmup 5 --runs 100 '$(PY) -c pass' '$(PY) -c "import kafka_iam_oauth"'; \
	else \
	  for i in $$(seq 20); do $(PY) -X importtime -c 'import kafka_iam_oauth' 2>&1 | grep -E '\| kafka_iam_oauth$$'; done; \
	fi

bench: bench-python bench-python-import
.PHONY: bench-python bench-python-import

# Warm oauth_cb of release wheels built at git revisions, side by side in
# one run (not in make bench: a release build per revision). E.g.
#   make bench-python-revs REVS="e5a4148 dbe1ea8^ dbe1ea8 HEAD"
REVS ?= HEAD
bench-python-revs: $(PY_VENV)/.deps
	$(CARGO_BUILD_DEV)
	@set -e; venvs=$$(scripts/bench/wheels-at-revs.sh build/bench/revs $(abspath $(PY_VENV))/bin/maturin $(REVS)); \
	args=; i=0; for r in $(REVS); do i=$$((i + 1)); args="$$args $$r=$$(sed -n "$${i}p" <<<"$$venvs")"; done; \
	cd tests/python && env -u KIO_EMULATOR_URL python3 bench_oauth_cb_revs.py $$args
.PHONY: bench-python-revs
