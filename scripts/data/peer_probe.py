#!/usr/bin/env python3
"""Probe: a peer against the shipped cascade on sets neither trained on (measured, not a test).

The peer is prompt-guardrail 1.0.1 (PyPI, Apache-2.0; TF-IDF word 1-4-grams and logistic
regression), the best recall at 1 % FPR among the peers `../shared/BRIEF.md` measured on the
development corpus (61.7 %, thresholds chosen on the corpus itself). Its wheel is fetched pinned by
sha256 into .tools/peers/ (git-ignored) and its two pickled models are loaded as its own code
loads them (scikit-learn's joblib); its score is P(injection).

For each set it prints, for the peer and for the cascade (`cloud-analyzer eval --tier cascade
--dump`, the built-in models), ROC AUC, recall and FPR at each one's own default decision (the
peer's 0.5, the cascade's block), the peer's recall at the cascade's FPR (its threshold set on
that set's benign items, so in the peer's favour), and both scores' recall at 1 % FPR (thresholds
read off the set itself, the way `../shared/BRIEF.md` measured the peers).

Needs numpy and scikit-learn (`.tools/probe/bin/pip install numpy scikit-learn joblib`) and a
release build (`cargo build --release -p cloud-analyzer`).

Usage: peer_probe.py [--bin target/release/cloud-analyzer]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile

try:
    import joblib
    import numpy as np
except ImportError as e:
    sys.exit(f"{e}: install numpy, scikit-learn and joblib (see the docstring)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wheels import pinned_wheel  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, ".tools", "peers")
WHEEL = ("prompt-guardrail", "1.0.1", "05e2ffff62d221bb6594e5dc3a0d8ccb3914a8331ad0e845640a8ab12ab26ae1")

# (name, files): sets no shipped model and, as far as can be known, not this peer trained on.
SETS = [
    ("short prompts written after the models", ["data/eval/novel_prompts.jsonl"]),
    ("third-party attacks and benign (registry)", ["data/fetched/registry.jsonl"]),
    ("task documents, planted / clean", ["data/eval/task_documents_planted.jsonl",
                                         "data/eval/task_documents_benign.jsonl"]),
    ("hard negatives", ["data/eval/hard_negatives.jsonl"]),
    ("multilingual benign", ["data/eval/multilingual_benign.jsonl"]),
    ("benign neighbours of harmful requests", ["data/eval/harm_neighbours_benign.jsonl"]),
]


class Peer:
    def __init__(self):
        wheel = pinned_wheel(*WHEEL, CACHE)
        models = {}
        with zipfile.ZipFile(wheel) as z:
            for name in ("lg_ip_guardrails.pkl", "ig_ip_vectorizer.pkl"):
                path = os.path.join(CACHE, name)
                if not os.path.exists(path):
                    open(path, "wb").write(z.read(f"guardify/models/{name}"))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pickled by another scikit-learn version
                    models[name] = joblib.load(path)
        self.clf, self.vectorizer = models["lg_ip_guardrails.pkl"], models["ig_ip_vectorizer.pkl"]
        self.positive = list(self.clf.classes_).index(1)

    def scores(self, texts):
        return self.clf.predict_proba(self.vectorizer.transform(texts))[:, self.positive]


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cascade(binary, files):
    rows = []
    for path in files:
        with tempfile.NamedTemporaryFile(suffix=".jsonl") as dump:
            subprocess.run([binary, "eval", "--data", path, "--tier", "cascade", "--dump", dump.name],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            rows += read(dump.name)
    return rows


def auc(s, y):
    if y.all() or not y.any():
        return float("nan")
    order = np.argsort(s, kind="stable")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    pos = y.sum()
    return (ranks[y].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos))


def recall_at(s, y, fpr=0.01):
    """Recall at FPR <= `fpr` (NaN without both labels)."""
    if y.all() or not y.any():
        return float("nan")
    benign = np.sort(s[~y])[::-1]
    k = int(np.floor(fpr * len(benign)))
    return (s[y] > (benign[k] if k < len(benign) else -np.inf)).mean()


def pct(x):
    return "—" if x != x else f"{100 * x:.1f} %"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "cloud-analyzer"))
    args = ap.parse_args()
    peer = Peer()
    print("| set | n (attacks / benign) | peer ROC AUC | cascade ROC AUC | peer at 0.5: recall / FPR "
          "| cascade: recall / FPR | peer recall at the cascade's FPR | recall at 1 % FPR: peer / cascade |")
    print("|---|---|---|---|---|---|---|---|")
    for name, files in SETS:
        items = [r for f in files for r in read(os.path.join(ROOT, f))]
        ours = cascade(args.bin, [os.path.join(ROOT, f) for f in files])
        if len(ours) != len(items):
            sys.exit(f"{name}: {len(ours)} dump lines for {len(items)} items")
        y = np.array([r["label"] == "malicious" for r in items])
        p = peer.scores([r["text"] for r in items])
        c = np.array([r["score"] for r in ours])
        blocked = np.array([r["decision"] == "block" for r in ours])
        rate = lambda d, sel: d[sel].mean() if sel.any() else float("nan")  # noqa: E731
        fpr = rate(blocked, ~y)
        at_fpr = recall_at(p, y, fpr)
        print(f"| {name} | {y.sum()} / {(~y).sum()} | {auc(p, y):.3f} | {auc(c, y):.3f} "
              f"| {pct(rate(p >= 0.5, y))} / {pct(rate(p >= 0.5, ~y))} "
              f"| {pct(rate(blocked, y))} / {pct(fpr)} | {pct(at_fpr)} "
              f"| {pct(recall_at(p, y))} / {pct(recall_at(c, y))} |")


if __name__ == "__main__":
    main()
