#!/usr/bin/env python3
"""Removes from the worker's wasm the exports no code path of SimBind uses, so
the optimiser can drop the code only they reach (2.7 KB of gzip, 2026-12-07).

    scripts/drop-exports.py MODULE.wasm

wasm-bindgen exports every `#[wasm_bindgen]` class of every crate linked in:
the worker crate's `ContainerStartupOptions`, `MinifyConfig` and `R2Range`
(Containers, minification and R2 options: SimBind uses none), and
wasm-streams' adapters that present a Rust stream or sink to JavaScript
(`IntoUnderlyingSource`, `IntoUnderlyingByteSource`, `IntoUnderlyingSink`:
SimBind reads the runtime's streams and never hands it a Rust one). The JS
glue keeps their classes, which nothing constructs. Every class listed must
be found: a worker crate that renames or drops one stops the build here, so
the list stays true. The module is rewritten in place; run `wasm-opt` after.
"""

import importlib.util
import sys
from pathlib import Path

# The module reader of scripts/wasm-size.py (a file name Python cannot import).
_spec = importlib.util.spec_from_file_location("wasm_size", Path(__file__).with_name("wasm-size.py"))
wasm_size = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wasm_size)
leb, sections = wasm_size.leb, wasm_size.sections

# Export names start with the lowercased class name, or `__wbg_` (+ get/set)
# before it.
CLASSES = ("containerstartupoptions", "minifyconfig", "r2range",
           "intounderlyingsource", "intounderlyingbytesource", "intounderlyingsink")


def leb_bytes(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def class_of(name):
    bare = name.removeprefix("__wbg_").removeprefix("get_").removeprefix("set_")
    return next((c for c in CLASSES if bare.startswith(c + "_")), None)


def main():
    path = sys.argv[1]
    data = open(path, "rb").read()
    out, seen = bytearray(data[:8]), set()
    for sid, payload in sections(data):
        if sid == 7:  # exports: name, kind, index
            count, p = leb(payload, 0)
            kept = []
            for _ in range(count):
                n, q = leb(payload, p)
                name = payload[q:q + n].decode()
                _, end = leb(payload, q + n + 1)
                cls = class_of(name)
                if cls:
                    seen.add(cls)
                else:
                    kept.append(payload[p:end])
                p = end
            payload = leb_bytes(len(kept)) + b"".join(kept)
        out += bytes([sid]) + leb_bytes(len(payload)) + payload
    missing = sorted(set(CLASSES) - seen)
    if missing:
        sys.exit(f"{path}: no exports of {', '.join(missing)}: update scripts/drop-exports.py")
    open(path, "wb").write(out)


if __name__ == "__main__":
    main()
