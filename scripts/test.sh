#!/usr/bin/env bash
# Runs every check CI runs, on a fresh machine: formatting, clippy (host and wasm), the no_std
# wasm build, all tests, the benches' build, and a short fuzz smoke run. Tools it needs are
# installed into git-ignored folders of the project (.tools/).
#
#   bash scripts/test.sh            # everything
#   FUZZ_SECONDS=0 bash scripts/test.sh   # skip the fuzz smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add wasm32-unknown-unknown >/dev/null
cargo --version

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy -D warnings (host, all targets)"
cargo clippy --workspace --all-targets -- -D warnings

step "clippy -D warnings (shared-core, wasm32-unknown-unknown, no_std)"
cargo clippy -p shared-core --no-default-features --target wasm32-unknown-unknown -- -D warnings

step "clippy -D warnings (envoy-filter, wasm32-wasip1)"
rustup target add wasm32-wasip1 >/dev/null
cargo clippy -p envoy-filter --target wasm32-wasip1 --all-targets -- -D warnings

step "clippy -D warnings (wasm-pkg and edge-filter, wasm32-unknown-unknown)"
cargo clippy -p wasm-pkg -p edge-filter --target wasm32-unknown-unknown -- -D warnings

step "shared-core builds for wasm32-unknown-unknown without std"
cargo build -p shared-core --no-default-features --target wasm32-unknown-unknown --release

step "the ndarray backend variant of the analyzer still builds"
cargo check -q -p cloud-analyzer --no-default-features --features ndarray

step "tests"
cargo test --workspace

step "analyzer end to end (official OpenAI client; embedded state and Redis 8)"
bash scripts/e2e-analyzer.sh

step "JavaScript package: build (wasm-bindgen) and node --test"
bash scripts/test-wasm-pkg.sh

step "Cloudflare Worker end to end (workerd via wrangler dev; under 1 MB gzipped)"
bash scripts/e2e-worker.sh

step "Envoy filter end to end (real Envoy 1.40 with V8; the filter under 1 MB)"
bash scripts/e2e-envoy.sh

if [ "${SKIP_CONTAINER:-0}" = 1 ]; then
  step "container image skipped (SKIP_CONTAINER=1)"
else
  step "container image (podman): build, run, /healthz, /v1/analyze"
  bash scripts/container-test.sh
fi

step "benches compile"
cargo bench -p mnemosyne-benches --no-run

if [ "$FUZZ_SECONDS" -gt 0 ] && rustup toolchain list | grep -q '^nightly'; then
  step "fuzz smoke run (${FUZZ_SECONDS}s per target)"
  TOOLS="$ROOT/.tools/cargo"
  if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
    cargo install --locked cargo-fuzz --root "$TOOLS" >/dev/null 2>&1
  fi
  export PATH="$TOOLS/bin:$PATH"
  (
    cd fuzz
    for target in parse_body normalize triage policy sse_restore analyzer_reply filter_config; do
      cargo +nightly fuzz run "$target" -- -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 2>&1 | tail -n 3
    done
  )
else
  step "fuzz smoke run skipped (FUZZ_SECONDS=0 or no nightly toolchain)"
fi

step "all checks passed"
