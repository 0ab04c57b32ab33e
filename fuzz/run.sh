#!/usr/bin/env bash
# Runs xpufleet's fuzz targets for a bounded time each, seeded from examples/ and data/.
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 30 s, every target)
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). A crash
# leaves its input under fuzz/artifacts/TARGET/ and makes this script fail; turn each one into
# a regression test (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(scenario what_if catalog trace)
fi

# Seed corpora, built fresh from the repository's own files (kept out of git).
seed() {
  local dir="seeds/$1"; shift
  rm -rf "$dir"; mkdir -p "$dir"
  local f
  for f in "$@"; do
    # The first 8 KiB of each file: libFuzzer's inputs stay small.
    head -c 8192 "../$f" > "$dir/$(echo "$f" | tr '/=' '__')"
  done
}
seed scenario examples/capex-2025.toml
seed what_if examples/what-if-h20.toml
seed catalog data/catalog.toml
mapfile -t traces < <(cd .. && find data/traces -type f \( -name '*.csv' -o -name '*.trace' -o -name '*.json' -o -name '*.jsonl' \) | sort | head -40)
seed trace "${traces[@]}"

for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== fuzz $t for ${secs}s"
  cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -max_len=8192 -rss_limit_mb=2048 -timeout=20 -print_final_stats=1
done
