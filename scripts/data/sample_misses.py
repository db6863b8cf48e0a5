#!/usr/bin/env python3
"""Prints a seeded sample of the attacks a held-out cascade let through, to read by hand.

Reads a `cloud-analyzer crossval --dump FILE` (scores from models that never saw the item's
family), re-decides each attack as the shipped cascade does (edge 0.35 / 0.94, cloud tier 0.4 ×
classifier + 0.6 × lexical model at 0.645, the classifier alone at 0.86 for text that discusses
attacks or that the edge would have blocked), and prints N of one family's misses, each with
its line number in the corpus (the dump holds only each text's start) and the first 700
characters. The same dump, family, N and seed print the same sample.

Usage: python3 scripts/data/sample_misses.py DUMP CORPUS FAMILY [N] [SEED]
e.g.   python3 scripts/data/sample_misses.py perfam.dump ../shared/data/corpus.jsonl \
           m:jailbreak_in_the_wild 40 20261205
"""
import json
import random
import sys


def blocked(row):
    score, decision = row["edge_score"], row["edge_decision"]
    if decision == "block":
        return True
    if decision == "allow":
        return False
    if row.get("classifier_alone", row.get("discussion")) or score >= 0.94:
        return row["cloud"] >= 0.86
    if row.get("lexical") is None:
        return (score + row["cloud"]) / 2 >= 0.86
    return 0.4 * row["cloud"] + 0.6 * row["lexical"] >= 0.645


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    dump, corpus_path, family = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 20261205
    with open(corpus_path, encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f]
    rows = []
    with open(dump, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                row["label"], row["family"], row["text"], row["chars"], row["edge_decision"]
                float(row["edge_score"]), float(row["cloud"]), float(row.get("lexical") or 0.0)
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"{dump}:{number}: not a crossval dump line ({e})")
            rows.append(row)
    misses = [r for r in rows if r["label"] == "malicious" and r["family"] == family and not blocked(r)]
    if not misses:
        sys.exit(f"no missed attacks of family {family!r} in {dump}")
    print(f"{len(misses)} missed attacks of {family}; a sample of {min(n, len(misses))} (seed {seed})\n")

    def corpus_line(row):
        # The item whose text begins as the dump's and has its length (several items of a
        # family can begin alike); the first that begins alike if none has.
        alike = [(number, item["text"]) for number, item in enumerate(corpus, 1)
                 if item["label"] == "malicious" and item["text"].startswith(row["text"][:150])]
        same = [a for a in alike if len(a[1]) == row["chars"]]
        return (same or alike or [(None, row["text"])])[0]

    for k, row in enumerate(random.Random(seed).sample(misses, min(n, len(misses))), 1):
        number, text = corpus_line(row)
        print(f"#{k} line {number} edge {row['edge_decision']} {row['edge_score']:.2f} "
              f"cloud {row['cloud']:.2f} chars {row['chars']}")
        print(text[:700].replace("\n", " "))
        print()


if __name__ == "__main__":
    main()
