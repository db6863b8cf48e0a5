#!/usr/bin/env python3
"""Probe (measured, not shipped): can K confirmed attacks teach a *learned signature* — the
wording they share — that recognizes the rest of their family without flagging benign text?

Protocol, as `cloud-analyzer eval --adapt K --adapt-unseen FILE` splits the data (its own
seeded shuffles, not the Rust ones): the corpus's benign items are halved; one half plus the
generated benign files is the *benign reference*, the other half is scored. For each attack
family of the third-party file (`data/fetched/registry.jsonl`, from
`scripts/data/fetch_registry.py`) K examples are "confirmed"; the learned signature is every
n-gram (character 5-grams and word bigrams of the lower-cased text) found in at least SHARE of
them and in no reference item. An item is recognized when it holds at least T of those n-grams.
Reported per family: recall on the rest of the family, benign items recognized among the
scored corpus half, among the file's own benign items, and among the project's `data/eval/`
benign sets.

`--traffic` adds what a deployment could know: half of the file's benign items stand for the
tenant's own allowed traffic, and n-grams seen in at least MIN_TRAFFIC of them are not learned
(the other half is scored). `--contaminate` also puts half of the family's unfed attacks into
that traffic (a campaign's earlier attempts that got through) and scores the other half.

Usage: python3 scripts/data/recurring_wording_probe.py [--k 10] [--seed 0] [--traffic]
       [--contaminate] [--min-traffic 3]
"""
import argparse
import collections
import json
import pathlib
import random
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def grams(text):
    text = re.sub(r"\s+", " ", text.lower())
    out = {text[i : i + 5] for i in range(len(text) - 4)}
    words = text.split(" ")
    out.update(a + " " + b for a, b in zip(words, words[1:]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--traffic", action="store_true")
    ap.add_argument("--contaminate", action="store_true")
    ap.add_argument("--min-traffic", type=int, default=3)
    args = ap.parse_args()

    corpus = load(ROOT.parent / "shared" / "data" / "corpus.jsonl")
    generated = []
    for name in ["benign_multilingual", "benign_hard_negatives", "benign_long_documents"]:
        generated += load(ROOT / "data" / "generated" / f"{name}.jsonl")
    registry = load(ROOT / "data" / "fetched" / "registry.jsonl")

    benign = [d for d in corpus if d["label"] == "benign"]
    random.Random(args.seed).shuffle(benign)
    reference = benign[len(benign) // 2 :] + [d for d in generated if d["label"] == "benign"]
    scored = [grams(d["text"]) for d in benign[: len(benign) // 2]]
    seen_in_reference = set()
    for d in reference:
        seen_in_reference |= grams(d["text"])

    file_benign = [d for d in registry if d["label"] == "benign"]
    random.Random(args.seed + 5).shuffle(file_benign)
    traffic_items = file_benign[: len(file_benign) // 2] if args.traffic else []
    file_scored = [grams(d["text"]) for d in file_benign[len(traffic_items) :]]
    eval_benign = []
    for name in ["hard_negatives", "multilingual_benign", "task_documents_benign"]:
        eval_benign += [
            grams(d["text"])
            for d in load(ROOT / "data" / "eval" / f"{name}.jsonl")
            if d["label"] == "benign"
        ]

    families = collections.defaultdict(list)
    for d in registry:
        if d["label"] == "malicious":
            families[d["family"]].append(d)

    print(
        f"K={args.k} seed={args.seed} traffic={args.traffic} contaminate={args.contaminate}; "
        f"benign scored: corpus half {len(scored)}, the file's {len(file_scored)}, "
        f"data/eval {len(eval_benign)}"
    )
    print("| SHARE | T | family | recall | corpus benign | file's benign | data/eval benign |")
    print("|---|---|---|---|---|---|---|")
    for share in (2, 3):
        for threshold in (8, 12):
            for family, items in sorted(families.items()):
                items = items[:]
                random.Random(args.seed + 1).shuffle(items)
                fed, rest = items[: args.k], items[args.k :]
                traffic = list(traffic_items)
                if args.contaminate:
                    traffic += rest[: len(rest) // 2]
                    rest = rest[len(rest) // 2 :]
                traffic_count = collections.Counter()
                for d in traffic:
                    traffic_count.update(grams(d["text"]))
                count = collections.Counter()
                for d in fed:
                    count.update(
                        g
                        for g in grams(d["text"])
                        if g not in seen_in_reference and traffic_count[g] < args.min_traffic
                    )
                learned = {g for g, c in count.items() if c >= share}

                def hit(g):
                    return len(g & learned) >= threshold

                recall = sum(hit(grams(d["text"])) for d in rest) / len(rest)
                print(
                    f"| {share} | {threshold} | {family} | {recall:.1%} "
                    f"| {sum(map(hit, scored))} | {sum(map(hit, file_scored))} "
                    f"| {sum(map(hit, eval_benign))} |"
                )


if __name__ == "__main__":
    main()
