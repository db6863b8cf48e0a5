#!/usr/bin/env bash
# Builds the Envoy/Istio filter (wasm32-wasip1, size-tuned `wasm-release` profile) and checks
# that it stays under 1 MB. Prints the path of the .wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip1 >/dev/null 2>&1
cargo build -q -p envoy-filter --target wasm32-wasip1 --profile wasm-release >&2
WASM=target/wasm32-wasip1/wasm-release/envoy_filter.wasm
SIZE=$(stat -c %s "$WASM")
echo "envoy_filter.wasm: $SIZE bytes ($(gzip -9 -c "$WASM" | wc -c) gzipped)" >&2
if [ "$SIZE" -ge 1048576 ]; then echo "the filter is over 1 MB" >&2; exit 1; fi
echo "$(pwd)/$WASM"
