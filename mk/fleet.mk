# Fleet scale (issue 21, docs/fleet.md). The bounded simulation
# (tests/fleet/bounded.rs, in tests/resilience.rs) and the emulator's rate limit tests run in test-rust;
# nothing here is in make test.
#
# make fleet-sim: 10,000 pods in simulated time on the real refresh policy
#   (benches/fleet_sim.rs); FLEET_SIM_* override the sizes.
# make bench-fleet: BENCH_FLEET_PROCESSES (200) real processes started
#   within 1 s against the emulator limited to BENCH_FLEET_RPS/s (20, burst
#   BENCH_FLEET_BURST 20), 60 s tokens for 3 lifetimes, two fleets in turn
#   (the library through the C API; confluent-kafka's [oauthbearer-aws]
#   handler in Python): ~13 minutes; memory: 200 x 48 MiB RSS for the
#   Python fleet (~10 GiB), 200 x 19 MiB for the C fleet, one at a time
#   (docs/fleet.md). Its own venv (build/bench/venv) and a copy of the
#   library, so other suites' rebuilds do not change it mid-run.
BENCH_FLEET_PROCESSES ?= 200
BENCH_FLEET_RPS ?= 20
BENCH_FLEET_BURST ?= 20
BENCH_FLEET_CONFLUENT ?= 2.16.2
# Seconds from spawning to the first ask: 200 Python processes importing
# boto3 on 2 busy cores took over 100 s.
BENCH_FLEET_WARMUP ?= 200
BENCH_DIR := build/bench

fleet-sim:
	cargo bench -p kafka-iam-oauth --bench fleet_sim

bench-fleet:
	$(CARGO_BUILD_DEV)
	mkdir -p $(BENCH_DIR)/lib
	cp -f target/debug/libkafka_iam_oauth.so $(BENCH_DIR)/lib/libkafka_iam_oauth.so
	ln -sf libkafka_iam_oauth.so $(BENCH_DIR)/lib/libkafka_iam_oauth.so.0
	cp -f target/debug/kafka-iam-oauth-emulator $(BENCH_DIR)/fleet-emulator
	gcc -O2 -Wall -Wextra -Iinclude benches/fleet/member.c -o $(BENCH_DIR)/fleet-member \
	  -L$(BENCH_DIR)/lib -lkafka_iam_oauth -Wl,-rpath,$(CURDIR)/$(BENCH_DIR)/lib
	test -x $(BENCH_DIR)/venv/bin/python || python3 -m venv $(BENCH_DIR)/venv
	$(BENCH_DIR)/venv/bin/pip install -q "confluent-kafka[oauthbearer-aws]==$(BENCH_FLEET_CONFLUENT)" matplotlib
	ulimit -n 8192 2>/dev/null || true; \
	$(BENCH_DIR)/venv/bin/python benches/fleet/run.py --processes $(BENCH_FLEET_PROCESSES) \
	  --rps $(BENCH_FLEET_RPS) --burst $(BENCH_FLEET_BURST) --warmup $(BENCH_FLEET_WARMUP) \
	  --emulator $(BENCH_DIR)/fleet-emulator --member $(BENCH_DIR)/fleet-member \
	  --python $(CURDIR)/$(BENCH_DIR)/venv/bin/python --out $(BENCH_DIR)

.PHONY: fleet-sim bench-fleet
