#!/usr/bin/env python3
"""Writes obfuscated copies of labelled prompts, to measure what an encoding hides from the
detectors (README "Obfuscated prompts").

Every English item of the input files is written once plain and once per encoding — base64,
ROT13, binary, Morse code, grade-1 Braille, the NATO alphabet (with word breaks and, as garak's
InjectNato probe does, without), the text reversed, each word reversed in place, look-alike
letters (Cyrillic/Greek/Latin-extended homoglyphs for about a third of the letters that have
one, seeded), the same with Latin-script look-alikes only (`ɑ`, `ı`, small capitals) and
leetspeak — as the whole prompt, with no wrapper, benign and malicious alike.
Each output line keeps the label and names the encoding in `family` (`m:enc_morse`,
`b:enc_morse`, …), so `cloud-analyzer eval` reports each encoding as a family.

Usage: python3 scripts/data/encode_prompts.py OUT.jsonl IN.jsonl [IN.jsonl ...]
"""
import base64
import codecs
import json
import random
import sys

SEED = 20261203

MORSE = {
    "a": ".-", "b": "-...", "c": "-.-.", "d": "-..", "e": ".", "f": "..-.", "g": "--.",
    "h": "....", "i": "..", "j": ".---", "k": "-.-", "l": ".-..", "m": "--", "n": "-.",
    "o": "---", "p": ".--.", "q": "--.-", "r": ".-.", "s": "...", "t": "-", "u": "..-",
    "v": "...-", "w": ".--", "x": "-..-", "y": "-.--", "z": "--..", "0": "-----",
    "1": ".----", "2": "..---", "3": "...--", "4": "....-", "5": ".....", "6": "-....",
    "7": "--...", "8": "---..", "9": "----.", ".": ".-.-.-", ",": "--..--", "?": "..--..",
    "'": ".----.", "!": "-.-.--", "/": "-..-.", ":": "---...", ";": "-.-.-.", "-": "-....-",
    '"': ".-..-.",
}
BRAILLE = dict(zip("abcdefghijklmnopqrstuvwxyz", [
    0x01, 0x03, 0x09, 0x19, 0x11, 0x0B, 0x1B, 0x13, 0x0A, 0x1A, 0x05, 0x07, 0x0D, 0x1D, 0x15,
    0x0F, 0x1F, 0x17, 0x0E, 0x1E, 0x25, 0x27, 0x3A, 0x2D, 0x3D, 0x35,
]))
NATO = dict(zip("abcdefghijklmnopqrstuvwxyz", [
    "Alfa", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India",
    "Juliett", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa", "Quebec", "Romeo",
    "Sierra", "Tango", "Uniform", "Victor", "Whiskey", "X-ray", "Yankee", "Zulu",
]))
# Latin-script look-alikes only (IPA and small-capital letters, dotless i): no Cyrillic or Greek,
# so no word mixes scripts.
LATIN_HOMOGLYPHS = {"a": "ɑᴀ", "c": "ᴄ", "d": "ᴅ", "e": "ᴇ", "g": "ɡ", "i": "ıɩ", "j": "ȷᴊ",
                    "k": "ᴋ", "m": "ᴍ", "o": "ᴏ", "p": "ᴘ", "t": "ᴛ", "u": "ᴜ", "v": "ᴠ",
                    "w": "ᴡ", "z": "ᴢ"}
HOMOGLYPHS = {"a": "аɑα", "c": "сϲ", "e": "еε", "i": "іıι", "o": "оοօ", "p": "рρ", "s": "ѕ",
              "x": "хχ", "y": "у", "j": "ј"}
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def morse(text):
    words = ["".join(c for c in w.lower() if c in MORSE) for w in text.split()]
    return " / ".join(" ".join(MORSE[c] for c in w) for w in words if w)


def braille(text):
    out = []
    for c in text:
        low = c.lower()
        if low in BRAILLE:
            if c.isupper():
                out.append(chr(0x2820))
            out.append(chr(0x2800 + BRAILLE[low]))
        elif c.isdigit():
            out.append(chr(0x283C) + chr(0x2800 + BRAILLE["jabcdefghi"[int(c)]]))
        elif c == " ":
            out.append(chr(0x2800))
        else:
            out.append(c)
    return "".join(out)


def nato(text, word_breaks):
    words = [" ".join(NATO[c] for c in w.lower() if c in NATO) for w in text.split()]
    return (" / " if word_breaks else " ").join(w for w in words if w)


def homoglyphs(text, rng, table):
    return "".join(
        rng.choice(table[c]) if c in table and rng.random() < 0.35 else c
        for c in text
    )


def encodings(text, rng):
    yield "plain", text
    yield "base64", base64.b64encode(text.encode()).decode()
    yield "rot13", codecs.encode(text, "rot13")
    yield "binary", " ".join(f"{b:08b}" for b in text.encode())
    yield "morse", morse(text)
    yield "braille", braille(text)
    yield "nato", nato(text, True)
    yield "nato_joined", nato(text, False)
    yield "reversed", text[::-1]
    yield "reversed_words", " ".join(w[::-1] for w in text.split())
    yield "homoglyphs", homoglyphs(text, rng, HOMOGLYPHS)
    yield "homoglyphs_latin", homoglyphs(text, rng, LATIN_HOMOGLYPHS)
    yield "leet", "".join(LEET.get(c, c) for c in text)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rng = random.Random(SEED)
    written = 0
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        for path in sys.argv[2:]:
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    try:
                        item = json.loads(line)
                        text, label = item["text"], item["label"]
                    except (ValueError, KeyError, TypeError) as e:
                        sys.exit(f"{path}:{n}: not a labelled item ({e})")
                    if not text.isascii():
                        continue  # the encodings are of English text
                    prefix = "m" if label == "malicious" else "b"
                    for name, encoded in encodings(text, rng):
                        out.write(json.dumps({
                            "text": encoded, "label": label, "category": f"encoded:{name}",
                            "source": f"{path} encoded by scripts/data/encode_prompts.py",
                            "family": f"{prefix}:enc_{name}",
                        }, ensure_ascii=False) + "\n")
                        written += 1
    print(f"{sys.argv[1]}: {written} items", file=sys.stderr)


if __name__ == "__main__":
    main()
