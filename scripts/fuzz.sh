#!/usr/bin/env bash
# `make fuzz`: builds the cargo-fuzz targets in fuzz/ and runs each for N seconds (default 30,
# the short run meant for CI), failing on the first crash, panic or broken invariant.
#
#   bash scripts/fuzz.sh [seconds] [target...]   # e.g. `bash scripts/fuzz.sh 1800 decode_record`
#   bash scripts/fuzz.sh --seeds                  # rewrite fuzz/corpus/<target>/ from real events
#
# cargo-fuzz passes nightly-only compiler flags (-Z sanitizer, coverage passes); the machine
# has the stable toolchain only, so RUSTC_BOOTSTRAP=1 unlocks them. New inputs go to
# fuzz/work/<target>/ (kept between local runs, not committed); fuzz/corpus/<target>/ holds
# the committed seeds and is only read. A crash leaves its input in fuzz/artifacts/<target>/
# and prints the command that reproduces it.
# Environment: FUZZ_SANITIZER (address by default; `none` builds faster and runs faster),
# FUZZ_ARGS (extra libFuzzer flags, e.g. `-jobs=2 -workers=2`).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
sanitizer=(--sanitizer "${FUZZ_SANITIZER:-address}")

seeds=false
if [[ "${1:-}" == "--seeds" ]]; then
  seeds=true
  shift
fi
secs=${1:-30}
shift || true
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

start=$(date +%s)
echo "fuzz: building ${targets[*]}"
cargo fuzz build "${sanitizer[@]}"
echo "fuzz: built in $(($(date +%s) - start)) s"
bin=${CARGO_TARGET_DIR:-fuzz/target}/x86_64-unknown-linux-gnu/release

if $seeds; then
  for t in "${targets[@]}"; do
    rm -rf "fuzz/corpus/$t"
    LEADLEDGER_FUZZ_SEEDS="fuzz/corpus/$t" "$bin/$t"
    echo "fuzz: $t: $(ls "fuzz/corpus/$t" | wc -l) seeds"
  done
  exit 0
fi

for t in "${targets[@]}"; do
  mkdir -p "fuzz/work/$t"
  echo "fuzz: $t for ${secs} s"
  log=$(mktemp)
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
  if ! cargo fuzz run "${sanitizer[@]}" "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -timeout=25 -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1; then
    tail -n 80 "$log"
    echo "fuzz: $t FAILED (input in fuzz/artifacts/$t/)"
    exit 1
  fi
  # The last status line and the final counters.
  grep -E '^#[0-9]+' "$log" | tail -n 1
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" | tr '\n' ' '
  echo
  rm -f "$log"
done
echo "fuzz: ${#targets[@]} targets, ${secs} s each, no crash ($(($(date +%s) - start)) s in all)"
