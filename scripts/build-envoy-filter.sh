#!/usr/bin/env bash
# Builds the Envoy/Istio filter (wasm32-wasip1, `wasm-release` profile), drops the exports of
# the proxy-wasm callbacks it does not implement (Envoy then skips those calls into V8 on every
# request; scripts/wasm_drop_exports.py) and checks that it stays under 1 MB. Prints the path of
# the .wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip1 >/dev/null 2>&1
cargo build -q -p envoy-filter --target wasm32-wasip1 --profile wasm-release >&2
OUT=target/wasm32-wasip1/wasm-release
WASM=$OUT/envoy_filter.wasm
# Callbacks the filter leaves at the SDK's defaults (continue, nothing to log, done); an export
# Envoy does not find is a call it does not make, with the same effect. Implementing one of
# these in envoy-filter/src/lib.rs means removing it here.
DROPPED=(
  proxy_on_log proxy_on_done proxy_on_response_body proxy_on_response_trailers
  proxy_on_tick proxy_on_queue_ready proxy_on_foreign_function
  proxy_on_new_connection proxy_on_downstream_data proxy_on_upstream_data
  proxy_on_downstream_connection_close proxy_on_upstream_connection_close
  proxy_on_grpc_receive_initial_metadata proxy_on_grpc_receive proxy_on_grpc_receive_trailing_metadata
  proxy_on_grpc_close
)
# From cargo's own artifact (deps/; the uplifted copy may be a hard link to it) to a new file.
python3 scripts/wasm_drop_exports.py "$OUT/deps/envoy_filter.wasm" "$WASM" "${DROPPED[@]}"
SIZE=$(stat -c %s "$WASM")
echo "envoy_filter.wasm: $SIZE bytes ($(gzip -9 -c "$WASM" | wc -c) gzipped)" >&2
if [ "$SIZE" -ge 1048576 ]; then echo "the filter is over 1 MB" >&2; exit 1; fi
echo "$(pwd)/$WASM"
