#!/usr/bin/env python3
"""Benign conversations built only from the never-trained-on evaluation sets (seeded).

`gen-sessions` builds its benign conversations from the half of the corpus that the evaluated
models did not train on — but the same families are in their training half, so those
conversations are in-distribution. This script builds benign conversations from `data/eval/`
instead (hard negatives, non-English requests, documents with a task: written for this project,
never used for training or for choosing a threshold of the single-turn models), in the
`gen-sessions` format, for `cloud-analyzer eval-sessions` to count false alarms on:

  benign_hard   each hard negative three times, as the last turn after 1-5 other eval turns
  benign_long   conversations of 4-12 eval turns in random order

Usage: python3 scripts/data/benign_eval_sessions.py OUT.jsonl [--seed 7] [--conversations 300]
"""
import argparse
import json
import os
import random
import sys

EVAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "eval")
SETS = ("hard_negatives", "multilingual_benign", "task_documents_benign")


def read(name):
    path = os.path.join(EVAL, f"{name}.jsonl")
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if any(r.get("label") != "benign" for r in rows):
        sys.exit(f"{path}: expected benign items only")
    return [r["text"] for r in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--conversations", type=int, default=300)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pool = [t for name in SETS for t in read(name)]
    hard = read("hard_negatives")
    conversations = []
    for text in hard * 3:
        turns = rng.sample(pool, rng.randint(1, 5)) + [text]
        conversations.append(("benign_hard", turns))
    for _ in range(args.conversations):
        conversations.append(("benign_long", rng.sample(pool, rng.randint(4, 12))))
    with open(args.out, "w", encoding="utf-8") as f:
        for n, (kind, turns) in enumerate(conversations):
            row = {"id": f"eval-{kind}-{n:04d}", "type": kind, "label": "benign",
                   "attack_start": None, "turns": turns}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(conversations)} benign conversations from {len(pool)} eval items → {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
