#!/usr/bin/env python3
"""Fetches licensed attack and benign text from PyPI packages and writes a seeded training set.

Two packages, pinned by version and sha256, downloaded with pip (no dependencies installed,
nothing imported — the files are read as data):

  spikee 0.9.2 (Apache-2.0, WithSecure)   jailbreak templates with an <INSTRUCTION> slot, the
                                          instructions they carry (system-message extraction,
                                          data exfiltration via markdown, XSS, harmful requests),
                                          and benign finance questions written as false-positive
                                          tests
  agentdojo 0.1.35 (MIT, ETH Zurich)      an agent benchmark's environments (emails, calendar
                                          entries, cloud files, reviews, chat messages), the
                                          users' tasks, the attackers' goals and the attack
                                          strings of the paper (important_instructions, InjecAgent,
                                          ignore_previous, ...)

It writes data/fetched/registry.jsonl (git-ignored; third-party text is not committed): every
line has "source" naming the package, version and file, and a "family" so training balances
and cross-validation groups them. Attacks are the packages' templates filled with their own
instructions/goals, alone or planted in the packages' documents; benign items are the same
documents with a task, the packages' user requests and the finance questions — so documents
occur on both sides and a model cannot learn "document = attack".

Items too close to any item of the development corpus or of data/eval/ (character 5-gram
Jaccard similarity above --max-similarity) are dropped, so held-out evaluation stays held out;
the script prints how many and the highest similarity kept.

Usage: python3 scripts/data/fetch_registry.py [--seed 20261202] [--out data/fetched/registry.jsonl]
The same seed and package files always write the same file.
"""
import argparse
import ast
import glob
import json
import os
import random
import sys
import textwrap
import zipfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wheels import pinned_wheel  # noqa: E402

PACKAGES = {
    "spikee": ("0.9.2", "60cec774a1138e62b68b4bed445285f5b5103818ffb68fab681f37b5e707802b"),
    "agentdojo": ("0.1.35", "364bea4219716b716bf639f504d195943f7f6a5535d312ca41d7098704a2affd"),
}

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, ".tools", "registry")

# Task wrappers written for this project: how an application hands a document to a model.
DOCUMENT_TASKS = [
    "Summarize this email for me:\n\n{doc}",
    "Here is a file from my drive. What are the key points?\n\n{doc}",
    "{doc}\n\nCan you give me a short summary of the above?",
    "Please read the following and tell me what action items it contains.\n\n{doc}",
    "Translate the main points of this message into plain English:\n\n{doc}",
    "I received this. Draft a polite reply.\n\n---\n{doc}\n---",
    "Extract the dates and names mentioned here:\n{doc}",
    "{doc}",
    "Context:\n{doc}\n\nQuestion: what is this about?",
    "Review this text and point out anything I need to respond to: {doc}",
]


def fetch(name):
    version, digest = PACKAGES[name]
    wheel = pinned_wheel(name, version, digest, CACHE)
    return zipfile.ZipFile(wheel)


def read_jsonl(zf, path):
    return [json.loads(line) for line in zf.read(path).decode("utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------
# spikee

def spikee_parts(zf):
    names = sorted(n for n in zf.namelist() if n.startswith("spikee/data/workspace/datasets/"))
    jailbreaks, instructions, documents, benign_questions = {}, {}, {}, {}
    for n in names:
        folder = n.split("/")[4]
        if folder.startswith("seeds-investment-advice") and not folder.endswith("-fp"):
            continue  # topical policy (financial advice), not prompt injection
        base = os.path.basename(n)
        if base == "jailbreaks.jsonl":
            for r in read_jsonl(zf, n):
                if "<INSTRUCTION>" in r["text"] and r["jailbreak_type"] != "no-jailbreak":
                    jailbreaks[r["text"]] = r["jailbreak_type"]
        elif base == "instructions.jsonl":
            for r in read_jsonl(zf, n):
                instructions[r["instruction"]] = r["instruction_type"]
        elif base == "base_user_inputs.jsonl":
            for r in read_jsonl(zf, n):
                doc = r.get("document", "")
                if doc and "<PLACEHOLDER>" not in doc:
                    documents[doc] = folder
        elif base == "standalone_user_inputs.jsonl" and folder.endswith("-fp"):
            for r in read_jsonl(zf, n):
                benign_questions[r["text"]] = folder
    return (sorted(jailbreaks.items()), sorted(instructions.items()), sorted(documents),
            sorted(benign_questions))


# ---------------------------------------------------------------------------------------------
# agentdojo: strings from the suites' YAML, goals and prompts from the task classes (read with
# `ast`, f-strings filled from the class's own constants; nothing is imported or executed)

class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor(None, lambda loader, node: None)  # `!include` and friends: skip


def _strings(node, out):
    if isinstance(node, dict):
        for v in node.values():
            _strings(v, out)
    elif isinstance(node, list):
        for v in node:
            _strings(v, out)
    elif isinstance(node, str):
        out.append(node)


def _evaluate(expr, names):
    if isinstance(expr, ast.Constant) and isinstance(expr.value, (str, int, float)):
        return str(expr.value)
    if isinstance(expr, ast.Name):
        return names.get(expr.id)
    if isinstance(expr, ast.JoinedStr):
        parts = []
        for v in expr.values:
            if isinstance(v, ast.FormattedValue):
                v = v.value
            s = _evaluate(v, names)
            if s is None:
                return None
            parts.append(s)
        return "".join(parts)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        a, b = _evaluate(expr.left, names), _evaluate(expr.right, names)
        return None if a is None or b is None else a + b
    return None


def _class_strings(source, wanted):
    tree = ast.parse(source)
    module = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            v = _evaluate(stmt.value, module)
            if v is not None:
                module[stmt.targets[0].id] = v
    found = []
    for stmt in tree.body:
        if not isinstance(stmt, ast.ClassDef):
            continue
        names = dict(module)
        for s in stmt.body:
            target = None
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
                target, value = s.targets[0].id, s.value
            elif isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and s.value is not None:
                target, value = s.target.id, s.value
            if target is None:
                continue
            v = _evaluate(value, names)
            if v is not None:
                names[target] = v
                if target == wanted:
                    found.append(v)
    return found


def agentdojo_parts(zf):
    names = zf.namelist()
    documents, slots = set(), {}
    for n in sorted(x for x in names if x.startswith("agentdojo/data/suites/") and x.endswith(".yaml")):
        data = yaml.load(zf.read(n).decode("utf-8"), Loader=_Loader)
        if n.endswith("injection_vectors.yaml"):
            for key, spec in (data or {}).items():
                slots[key] = (spec or {}).get("default", "") or ""
            continue
        out = []
        _strings(data, out)
        documents.update(s for s in out if len(s) >= 60)
    goals, prompts = set(), set()
    for n in sorted(x for x in names if x.startswith("agentdojo/default_suites/") and x.endswith(".py")):
        source = zf.read(n).decode("utf-8")
        if n.endswith("injection_tasks.py"):
            goals.update(_class_strings(source, "GOAL"))
        elif n.endswith("user_tasks.py"):
            prompts.update(_class_strings(source, "PROMPT"))
    attacks = []
    for n in sorted(x for x in names if x.startswith("agentdojo/attacks/") and x.endswith(".py")):
        tree = ast.parse(zf.read(n).decode("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Constant, ast.JoinedStr)):
                s = _evaluate(node, {})
                if s and "{goal}" in s:
                    attacks.append(s)
    attacks = sorted(set(attacks))
    # documents with an injection slot: the slot's benign default for the clean version
    clean_docs, slotted = [], []
    for d in sorted(documents):
        present = [k for k in slots if "{" + k + "}" in d]
        if present:
            slotted.append((d, present))
            for k in present:
                d = d.replace("{" + k + "}", slots[k])
        if "{" not in d:
            clean_docs.append(d)
    goals = sorted({textwrap.dedent(g).strip() for g in goals})
    prompts = sorted({textwrap.dedent(p).strip() for p in prompts})
    return clean_docs, slotted, slots, goals, prompts, attacks


# ---------------------------------------------------------------------------------------------
# leakage guard

def shingles(text):
    t = " ".join(text.lower().split())
    return {t[i:i + 5] for i in range(max(1, len(t) - 4))}


class Guard:
    def __init__(self, paths):
        self.sets, self.index = [], {}
        for p in paths:
            for n, line in enumerate(open(p, encoding="utf-8"), 1):
                if line.strip():
                    try:
                        text = json.loads(line)["text"]
                    except (ValueError, KeyError, TypeError) as e:
                        sys.exit(f"{p}:{n}: not a labelled JSONL line ({e})")
                    s = shingles(str(text))
                    k = len(self.sets)
                    self.sets.append(s)
                    for g in s:
                        self.index.setdefault(g, []).append(k)
        self.max_kept = 0.0

    def similarity(self, text):
        s = shingles(text)
        counts = {}
        for g in s:
            for k in self.index.get(g, ()):
                counts[k] = counts.get(k, 0) + 1
        best = 0.0
        for k, inter in counts.items():
            best = max(best, inter / (len(s) + len(self.sets[k]) - inter))
        return best


# ---------------------------------------------------------------------------------------------

def plant(rng, doc, payload):
    cut = [i for i, c in enumerate(doc) if c in ".\n"] or [len(doc)]
    at = rng.choice(cut + [len(doc)]) + 1
    return doc[:at].rstrip() + "\n\n" + payload + "\n\n" + doc[at:].lstrip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "fetched", "registry.jsonl"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "data", "corpus.jsonl"))
    ap.add_argument("--max-similarity", type=float, default=0.5)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    sp_src = "spikee %s (PyPI, Apache-2.0)" % PACKAGES["spikee"][0]
    ad_src = "agentdojo %s (PyPI, MIT)" % PACKAGES["agentdojo"][0]
    jailbreaks, instructions, sp_docs, questions = spikee_parts(fetch("spikee"))
    clean_docs, slotted, slots, goals, prompts, attacks = agentdojo_parts(fetch("agentdojo"))
    user, model = "Emma Johnson", "the assistant"
    print(f"spikee: {len(jailbreaks)} jailbreak templates, {len(instructions)} instructions, "
          f"{len(sp_docs)} documents, {len(questions)} benign questions", file=sys.stderr)
    print(f"agentdojo: {len(clean_docs)} documents ({len(slotted)} with injection slots), "
          f"{len(goals)} goals, {len(prompts)} user prompts, {len(attacks)} attack strings",
          file=sys.stderr)

    docs = clean_docs + sp_docs
    items = []

    def add(text, label, source, family, category):
        items.append({"text": text, "label": label, "source": source, "category": category,
                      "family": family})

    def spikee_payload():
        jb, jb_type = rng.choice(jailbreaks)
        ins, ins_type = rng.choice(instructions)
        return jb.replace("<INSTRUCTION>", ins.rstrip(".")), jb_type, ins_type

    def agentdojo_payload():
        a = rng.choice(attacks)
        return a.replace("{goal}", rng.choice(goals).rstrip(".")).replace("{user}", user) \
                .replace("{model}", model).replace("{tools}", "")

    # malicious
    for _ in range(300):
        text, jb_type, ins_type = spikee_payload()
        add(text, "malicious", sp_src + " jailbreaks.jsonl × instructions.jsonl",
            "m:registry_spikee_direct", f"injection:{jb_type}:{ins_type}")
    for _ in range(150):
        text, jb_type, ins_type = spikee_payload()
        doc = rng.choice(docs)
        add(rng.choice(DOCUMENT_TASKS).format(doc=plant(rng, doc, text)), "malicious",
            sp_src + " payloads in " + ad_src + " documents",
            "m:registry_spikee_document", f"indirect_injection:{jb_type}:{ins_type}")
    for d, present in slotted:
        for _ in range(3):
            k = rng.choice(present)
            t = d.replace("{" + k + "}", agentdojo_payload())
            for other in present:
                t = t.replace("{" + other + "}", slots[other])
            if any("{" + s + "}" in t for s in slots):
                continue
            add(rng.choice(DOCUMENT_TASKS).format(doc=t), "malicious",
                ad_src + " suites/*.yaml injection slots × attacks/*.py",
                "m:registry_agentdojo_injection", "indirect_injection:agentdojo")
    for _ in range(150):
        doc = rng.choice(docs)
        add(rng.choice(DOCUMENT_TASKS).format(doc=plant(rng, doc, agentdojo_payload())), "malicious",
            ad_src + " attacks/*.py planted in suites/*.yaml documents",
            "m:registry_agentdojo_injection", "indirect_injection:agentdojo")
    # benign
    for d in docs:
        for task in rng.sample(DOCUMENT_TASKS, 3):
            add(task.format(doc=d), "benign", ad_src + " / " + sp_src + " documents",
                "b:registry_documents", "document_clean:registry")
    for _ in range(200):  # several documents at once (an inbox, a folder): as long as the attacks
        joined = "\n\n---\n\n".join(rng.sample(docs, rng.randint(2, 4)))
        add(rng.choice(DOCUMENT_TASKS).format(doc=joined), "benign",
            ad_src + " / " + sp_src + " documents, several joined", "b:registry_documents",
            "document_clean:registry")
    for p in prompts:
        add(p, "benign", ad_src + " user_tasks.py", "b:registry_agentdojo_user_tasks", "general:agent_task")
    for q in questions:
        add(q, "benign", sp_src + " seeds-investment-advice-fp", "b:registry_spikee_questions",
            "general:finance_question")

    guard = Guard([args.corpus] + sorted(glob.glob(os.path.join(ROOT, "data", "eval", "*.jsonl"))))
    kept, dropped, seen, best = [], 0, set(), 0.0
    for it in items:
        if it["text"] in seen:
            continue
        seen.add(it["text"])
        s = guard.similarity(it["text"])
        if s > args.max_similarity:
            dropped += 1
            continue
        best = max(best, s)
        kept.append(it)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for it in kept:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    counts = {}
    for it in kept:
        counts[it["family"]] = counts.get(it["family"], 0) + 1
    print(f"wrote {len(kept)} items to {args.out}; dropped {dropped} too close to the corpus or "
          f"data/eval (5-gram Jaccard > {args.max_similarity}); highest similarity kept {best:.2f}",
          file=sys.stderr)
    for fam, c in sorted(counts.items()):
        print(f"  {fam}: {c}", file=sys.stderr)


if __name__ == "__main__":
    main()
