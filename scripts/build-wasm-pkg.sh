#!/usr/bin/env bash
# Builds the npm-ready JavaScript package of the core into wasm-pkg/pkg/ (package.json, JS,
# TypeScript types, the .wasm): cargo (wasm32-unknown-unknown, wasm-release profile) →
# wasm-bindgen --target nodejs → wasm-opt -O3 when binaryen is installed (npm ci).
# wasm-bindgen-cli 0.2.130 (= the crate version in Cargo.lock) is installed into .tools/cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=.tools/cargo
if [ "$("$TOOLS/bin/wasm-bindgen" --version 2>/dev/null)" != "wasm-bindgen 0.2.130" ]; then
  echo "installing wasm-bindgen-cli 0.2.130 into $TOOLS (a few minutes, once)" >&2
  cargo install -q wasm-bindgen-cli --version 0.2.130 --root "$TOOLS" >&2
fi
rustup target add wasm32-unknown-unknown >/dev/null 2>&1
cargo build -q -p wasm-pkg --target wasm32-unknown-unknown --profile js-release >&2
OUT=wasm-pkg/pkg
rm -rf "$OUT"
"$TOOLS/bin/wasm-bindgen" target/wasm32-unknown-unknown/js-release/wasm_pkg.wasm \
  --target nodejs --out-dir "$OUT" --out-name mnemosyne_core
if [ -x node_modules/.bin/wasm-opt ]; then
  node_modules/.bin/wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$OUT/mnemosyne_core_bg.wasm" -o "$OUT/mnemosyne_core_bg.wasm"
fi
cp wasm-pkg/npm/package.json wasm-pkg/npm/README.md "$OUT/"
echo "$OUT: $(stat -c %s "$OUT/mnemosyne_core_bg.wasm") bytes of wasm ($(gzip -9 -c "$OUT/mnemosyne_core_bg.wasm" | wc -c) gzipped)" >&2
echo "$(pwd)/$OUT"
