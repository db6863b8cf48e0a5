#!/usr/bin/env bash
# Builds the JavaScript package and tests it in Node the way a user imports it.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=$(bash scripts/build-wasm-pkg.sh)
MNEMOSYNE_PKG="$PKG" node --test wasm-pkg/test/
