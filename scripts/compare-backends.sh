#!/usr/bin/env bash
# Measures Burn's two pure-Rust CPU backends on the work the analyzer does: training both models
# (`train`) and cloud-classifier inference per prompt (`eval --tier cloud`, p50/p99 per item).
# Since session 29 the analyzer scores with the trained weights on plain floats (learn/kernel.rs),
# not through the backend, so the inference column measures that kernel for both builds.
# Builds the ndarray variant into its own target directory.
#
#   bash scripts/compare-backends.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-../shared/data/corpus.jsonl}
cargo build --release -q -p cloud-analyzer
CARGO_TARGET_DIR=target/ndarray cargo build --release -q -p cloud-analyzer --no-default-features --features ndarray
for variant in flex:target/release ndarray:target/ndarray/release; do
  name=${variant%%:*}
  bin=${variant#*:}/cloud-analyzer
  out=$(mktemp -d)
  start=$(date +%s.%N)
  "$bin" train --data "$CORPUS" --out "$out" --quiet --backend "$name" >/dev/null
  end=$(date +%s.%N)
  lat=$("$bin" eval --data "$CORPUS" --tier cloud --models "$out" --backend "$name" --json \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["latency_us"]; print("p50 %.0f µs, p99 %.0f µs" % (r["p50"], r["p99"]))')
  printf '%-8s train %.1f s; cloud inference per prompt %s; edge weights sha256 %s\n' \
    "$name" "$(python3 -c "print($end - $start)")" "$lat" "$(sha256sum "$out/edge.mnls" | cut -c1-12)"
  rm -rf "$out"
done
