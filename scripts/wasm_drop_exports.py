#!/usr/bin/env python3
"""Removes named exports from a WebAssembly module (writing a new file).

Envoy calls a proxy-wasm callback only when the module exports it, and every call into V8
costs Envoy CPU per request. The Rust proxy-wasm SDK exports every callback whether the filter
implements it or not, so scripts/build-envoy-filter.sh drops the ones the filter leaves at
their defaults (see DROPPED in that script): Envoy then skips them, with the same effect as the
defaults (continue; nothing to log; done).

    python3 scripts/wasm_drop_exports.py IN.wasm OUT.wasm NAME [NAME ...]

Writes OUT as a new file (replacing it, never writing through a hard link to IN). Fails
(exit 1, nothing written) if a named export is missing or IN is not a wasm module.
"""
import os
import sys


def uleb(data, at):
    """Decodes an unsigned LEB128 at `at`; returns (value, next offset)."""
    value = shift = 0
    while True:
        if at >= len(data):
            raise ValueError("truncated LEB128")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at
        if shift > 35:
            raise ValueError("LEB128 too long")


def encode_uleb(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def drop_exports(module, names):
    """Returns the module without the named exports; raises ValueError when one is missing."""
    if module[:4] != b"\0asm" or module[4:8] != b"\1\0\0\0":
        raise ValueError("not a WebAssembly 1.0 module")
    out = bytearray(module[:8])
    at = 8
    found = set()
    while at < len(module):
        section_id = module[at]
        size, body = uleb(module, at + 1)
        end = body + size
        if end > len(module):
            raise ValueError("truncated section")
        if section_id != 7:
            out += module[at:end]
            at = end
            continue
        count, cursor = uleb(module, body)
        kept = []
        for _ in range(count):
            start = cursor
            length, cursor = uleb(module, cursor)
            name = module[cursor:cursor + length].decode("utf-8")
            cursor += length + 1  # the name, then the export kind byte
            _, cursor = uleb(module, cursor)  # the index
            if name in names:
                found.add(name)
            else:
                kept.append(module[start:cursor])
        if cursor != end:
            raise ValueError("malformed export section")
        section = encode_uleb(len(kept)) + b"".join(kept)
        out += bytes([7]) + encode_uleb(len(section)) + section
        at = end
    missing = set(names) - found
    if missing:
        raise ValueError(f"no such export: {', '.join(sorted(missing))}")
    return bytes(out)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    source, target, names = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    with open(source, "rb") as f:
        module = f.read()
    try:
        stripped = drop_exports(module, names)
    except (ValueError, UnicodeDecodeError) as e:
        sys.exit(f"{source}: {e}")
    partial = target + ".partial"
    with open(partial, "wb") as f:
        f.write(stripped)
    os.replace(partial, target)


if __name__ == "__main__":
    main()
