# leadledger: the two commands a newcomer needs are `make run` and `make test`.
.PHONY: run test bench soak faults fuzz up down lint layout fmt

# Bring up broker and database if needed, start the service, stream a simulated quarter,
# print the funnel report.
run:
	bash scripts/run.sh

# Unit, property and integration tests against the real broker and PostgreSQL.
test:
	bash scripts/test.sh

# Throughput and freshness against raw baselines; figures go to docs/BENCHMARKS.md.
bench:
	bash scripts/bench.sh

# Issue 5's soak: each role its own release process, 2000 events/s for 10 min (SOAK_SECONDS,
# SOAK_RATE...), RSS per role and projector lag sampled; docs/BENCHMARKS-soak.md and the
# "RSS per role" section of docs/BENCHMARKS.md. Non-zero exit if a check fails.
soak:
	bash scripts/soak.sh

# The fault scenarios alone (they also run in `make test`); see docs/RELIABILITY.md.
# kill.rs and pg_kill.rs belong to the leadledger package: Cargo builds the binary they run
# for it. pg_kill.rs starts its own PostgreSQL cluster (Debian binaries, /usr/lib/postgresql).
faults:
	bash scripts/broker.sh up
	bash scripts/postgres.sh
	cargo nextest run -p leadledger-e2e -p leadledger --test faults --test bad_input --test kill --test pg_kill

# Each cargo-fuzz target for 30 s (`bash scripts/fuzz.sh 600` for longer); see
# docs/RELIABILITY.md.
fuzz:
	bash scripts/fuzz.sh

# Broker and database only.
up:
	bash scripts/broker.sh up
	bash scripts/postgres.sh

down:
	bash scripts/broker.sh down

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	python3 scripts/layout.py --check

fmt:
	cargo fmt --all

# Module sizes, import cycles, public items and inline SQL per crate (`--check` is in CI).
layout:
	python3 scripts/layout.py
