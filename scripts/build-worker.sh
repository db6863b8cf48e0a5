#!/usr/bin/env bash
# Builds the Cloudflare Worker (edge-filter/) with worker-build, using local tools only:
# worker-build 0.8.7 and wasm-bindgen-cli 0.2.130 in .tools/cargo, wasm-opt and esbuild from
# node_modules (npm ci). wrangler runs this as the build command (wrangler.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOOLS="$ROOT/.tools/cargo"
# (worker-build prints its version as "0.8.7" or "worker-build 0.8.7" depending on the build)
if ! "$TOOLS/bin/worker-build" --version 2>/dev/null | grep -qw "0\.8\.7"; then
  echo "installing worker-build 0.8.7 into $TOOLS (a few minutes, once)" >&2
  cargo install -q --locked --force worker-build --version 0.8.7 --root "$TOOLS" >&2
fi
if [ "$("$TOOLS/bin/wasm-bindgen" --version 2>/dev/null)" != "wasm-bindgen 0.2.130" ]; then
  echo "installing wasm-bindgen-cli 0.2.130 into $TOOLS (a few minutes, once)" >&2
  cargo install -q wasm-bindgen-cli --version 0.2.130 --root "$TOOLS" >&2
fi
[ -x node_modules/.bin/wasm-opt ] || npm ci --no-audit --no-fund >&2
rustup target add wasm32-unknown-unknown >/dev/null 2>&1
cd edge-filter
WASM_BINDGEN_BIN="$TOOLS/bin/wasm-bindgen" WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt" \
  ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild" "$TOOLS/bin/worker-build" --release >&2
ls -l build/worker >&2
