#!/usr/bin/env bash
# Multi-turn evaluation of the session analysis (README "Sessions"): generates conversations
# from one half of the corpus, trains models on the other half, and runs the conversations
# through the session analysis with the single-turn cascade as the baseline. The models (and the
# session window model, trained with joined benign examples) come from the training half only.
#   bash scripts/eval-sessions.sh            # tables
#   JSON=1 bash scripts/eval-sessions.sh     # one JSON object (without the data/eval/ check)
#   TRAIN_FLAGS='--window-family-share 0.5' bash scripts/eval-sessions.sh   # extra `train` flags
#   ADAPTIVE=1 bash scripts/eval-sessions.sh # multi-turn attacks re-cut against the evaluated
#                                            # cascade (eval-sessions --adaptive-split)
# Then it counts false alarms on benign conversations built from data/eval/ only
# (scripts/data/benign_eval_sessions.py), with the same models.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/corpus.jsonl}
out=${OUT:-target/sessions}
seed=${SEED:-20261122}
cargo build --release -q -p cloud-analyzer
bin=target/release/cloud-analyzer
"$bin" gen-sessions --data "$data" --data data/generated/benign_hard_negatives.jsonl \
  --out "$out" --seed "$seed" --per-type "${PER_TYPE:-150}" >&2
"$bin" train --quiet ${TRAIN_FLAGS:-} --data "$out/train.jsonl" \
  --data data/generated/benign_multilingual.jsonl --data data/generated/benign_long_documents.jsonl \
  --data data/generated/malicious_short.jsonl --out "$out/models" >&2
"$bin" eval-sessions --data "$out/sessions.jsonl" --models "$out/models" ${JSON:+--json} \
  ${ADAPTIVE:+--adaptive-split}
# False alarms on benign conversations made only of never-trained-on text (data/eval/).
if [ -z "${JSON:-}" ]; then
  python3 scripts/data/benign_eval_sessions.py "$out/eval_benign_sessions.jsonl"
  echo; echo "benign conversations from data/eval/ (never trained on):"
  "$bin" eval-sessions --data "$out/eval_benign_sessions.jsonl" --models "$out/models" | grep -E '^(type|benign)'
fi
