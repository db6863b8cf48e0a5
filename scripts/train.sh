#!/usr/bin/env bash
# Retrains the shipped models from the development corpus and the generated sets, and installs
# them where the builds pick them up:
#   shared-core/models/edge.mnls            (edge scorer, compiled into shared-core)
#   cloud-analyzer/models/cloud.{bpk,json}  (cloud classifier, compiled into the analyzer)
#   cloud-analyzer/models/lexical.mnls      (the cloud tier's lexical model: bagged edge-type models)
#   cloud-analyzer/models/window.{bpk,json}, reference.bin (session window classifier, adapter reference)
# Deterministic: the same data and seed give the same bytes.
#
#   bash scripts/train.sh [extra train flags, e.g. --seed 7]
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-../shared/data/corpus.jsonl}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cargo run --release -p cloud-analyzer -- train \
  --data "$CORPUS" \
  --data data/generated/benign_multilingual.jsonl \
  --data data/generated/benign_hard_negatives.jsonl \
  --data data/generated/benign_long_documents.jsonl \
  --data data/generated/malicious_short.jsonl \
  --out "$OUT" "$@"
cp "$OUT/edge.mnls" shared-core/models/edge.mnls
cp "$OUT/cloud.bpk" "$OUT/cloud.json" "$OUT/lexical.mnls" "$OUT/window.bpk" "$OUT/window.json" "$OUT/reference.bin" cloud-analyzer/models/
echo "installed: shared-core/models/edge.mnls cloud-analyzer/models/{cloud,window}.{bpk,json} cloud-analyzer/models/{lexical.mnls,reference.bin}"
