#!/usr/bin/env python3
"""Re-decides the cascade from `cloud-analyzer crossval --dump FILE` scores over a threshold grid.

Prints the default thresholds' recall/FPR, the block/cloud thresholds with the best recall at
FPR <= 1 % (allow threshold fixed, 0.35 by default), the per-family block rates there, and, per
malicious family, the ROC AUC of the edge and cloud scores against all benign items.

Approximation: the dump has the edge's decision at the default thresholds only, so an item the
edge escalated because its text discusses attacks is only known as such above 0.94 (or by the
dump's `discussion` flag, where it has one).

A dump with a `lexical` score (the cloud tier's lexical model, crossval since 2026-12-02) is
re-decided as the cloud tier now decides: the weighted mean of the classifier (0.4) and the
lexical model (0.6) against the cloud threshold, the classifier alone (at 0.86) for text that discusses attacks or
whose edge block was overruled. A dump without one is re-decided as before (the mean of the
edge's score and the classifier).

With a dump from `crossval --window-words N`, CLOUD_SCORE picks the cloud score: `whole` (the
text's, default), `windows` (its strongest window, where it has windows) or `max` (the larger).

It also prints, at the default edge block threshold (0.94), the cloud threshold with the best
recall at FPR <= 1 % on a finer grid (step 0.005), and recall/FPR at cloud thresholds 0.50 to
0.75. LEXICAL_WEIGHT (default 0.6, as shipped) re-weights the lexical model in the mean.

CLOUD_THRESHOLD (default 0.645, as shipped) is the cloud threshold of the first line, which
reports recall/FPR at the edge's default thresholds (0.35/0.94).

Usage: python3 scripts/data/redecide_cascade.py DUMP.jsonl [ALLOW_THRESHOLD] [CLOUD_SCORE] [LEXICAL_WEIGHT] [CLOUD_THRESHOLD]
"""
import bisect
import json
import sys


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
                float(r["edge_score"]), float(r["cloud"]), r["label"], r["family"], r["edge_decision"]
                if r.get("cloud_windows") is not None:
                    float(r["cloud_windows"])
                if r.get("lexical") is not None:
                    float(r["lexical"])
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"{path}:{n}: not a crossval dump line ({e})")
            rows.append(r)
    if not rows:
        sys.exit(f"{path}: empty")
    return rows


CLASSIFIER_ALONE_AT = 0.86
LEXICAL_WEIGHT = 0.6


def blocked(r, allow_at, block_at, cloud_at):
    s, d, c = r["edge_score"], r["edge_decision"], r["cloud"]
    # `classifier_alone` (dumps since 2026-12-05, session 33); older dumps call it `discussion`.
    lexical, discussion = r.get("lexical"), bool(r.get("classifier_alone", r.get("discussion")))
    if d == "block" or (s >= block_at and (d != "escalate" or s < 0.94) and not discussion):
        return True
    if s < allow_at and d != "escalate":
        return False
    if lexical is not None:
        if discussion or s >= block_at:
            return c >= CLASSIFIER_ALONE_AT
        return (1 - LEXICAL_WEIGHT) * c + LEXICAL_WEIGHT * float(lexical) >= cloud_at
    if s >= block_at:  # escalated although the edge would block: the cloud alone decides
        return c >= cloud_at
    return (s + c) / 2 >= cloud_at


def rates(rows, *t):
    mal = [r for r in rows if r["label"] == "malicious"]
    ben = [r for r in rows if r["label"] == "benign"]
    recall = sum(blocked(r, *t) for r in mal) / max(1, len(mal))
    fpr = sum(blocked(r, *t) for r in ben) / max(1, len(ben))
    escalated = sum(t[0] <= r["edge_score"] < t[1] for r in ben) / max(1, len(ben))
    return recall, fpr, escalated


def auc(scores, reference):
    ref = sorted(reference)
    wins = sum(bisect.bisect_left(ref, x) + 0.5 * (bisect.bisect_right(ref, x) - bisect.bisect_left(ref, x))
               for x in scores)
    return wins / max(1, len(scores) * len(ref))


def unit_arg(index, name):
    """Command-line argument `index` as a number from 0 to 1; exits with a message otherwise."""
    try:
        value = float(sys.argv[index])
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        sys.exit(f"{name} must be a number from 0 to 1, not {sys.argv[index]!r}")
    return value


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rows = load(sys.argv[1])
    allow_at = float(sys.argv[2]) if len(sys.argv) > 2 else 0.35
    cloud_score = sys.argv[3] if len(sys.argv) > 3 else "whole"
    if cloud_score not in ("whole", "windows", "max"):
        sys.exit(f"CLOUD_SCORE must be whole, windows or max, not {cloud_score!r}")
    if len(sys.argv) > 4:
        global LEXICAL_WEIGHT
        LEXICAL_WEIGHT = unit_arg(4, "LEXICAL_WEIGHT")
    for r in rows:
        window = r.get("cloud_windows")
        if window is not None and cloud_score != "whole":
            r["cloud"] = float(window) if cloud_score == "windows" else max(r["cloud"], float(window))
    default_cloud = 0.645 if any(r.get("lexical") is not None for r in rows) else 0.86
    if len(sys.argv) > 5:
        default_cloud = unit_arg(5, "CLOUD_THRESHOLD")
    print("default 0.35/0.94/%.3f: recall %.4f FPR %.4f benign escalated %.3f"
          % ((default_cloud,) + rates(rows, 0.35, 0.94, default_cloud)))
    fine = None
    for cloud_at in [x / 200 for x in range(80, 200)]:
        recall, fpr, _ = rates(rows, allow_at, 0.94, cloud_at)
        if fpr <= 0.01 and (fine is None or recall > fine[0]):
            fine = (recall, fpr, cloud_at)
    if fine is not None:
        print("at block 0.94, best at FPR <= 1 %%: recall %.4f FPR %.4f cloud %.3f" % fine)
    print("at block 0.94, recall/FPR by cloud threshold:", "  ".join(
        "%.2f: %.3f/%.4f" % ((t,) + rates(rows, allow_at, 0.94, t)[:2])
        for t in (0.50, 0.55, 0.60, 0.65, 0.70, 0.75)))
    best = None
    for block_at in [0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.96, 0.98]:
        for cloud_at in [x / 100 for x in range(40, 100, 2)]:
            recall, fpr, esc = rates(rows, allow_at, block_at, cloud_at)
            if fpr <= 0.01 and (best is None or recall > best[0]):
                best = (recall, fpr, block_at, cloud_at, esc)
    if best is None:
        print("no thresholds on the grid keep FPR <= 1 %")
        return
    print("best at FPR <= 1 %%: recall %.3f FPR %.3f block %.2f cloud %.2f benign escalated %.3f" % best)
    benign = [r for r in rows if r["label"] == "benign"]
    for fam in sorted({r["family"] for r in rows}):
        xs = [r for r in rows if r["family"] == fam]
        share = sum(blocked(r, allow_at, best[2], best[3]) for r in xs) / len(xs)
        line = f"  {fam:28s} n={len(xs):4d} blocked {100 * share:5.1f}%"
        if fam.startswith("m:"):
            line += "  edge AUC %.3f  cloud AUC %.3f" % (
                auc([r["edge_score"] for r in xs], [r["edge_score"] for r in benign]),
                auc([r["cloud"] for r in xs], [r["cloud"] for r in benign]))
        print(line)


if __name__ == "__main__":
    main()
