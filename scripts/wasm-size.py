#!/usr/bin/env python3
"""Each part's share of a wasm module, from its name section: code bytes per
crate (and per SimBind module), data bytes, and the rest, each also as a
share of the gzip size (every part gzipped alone and scaled to the whole).

    scripts/wasm-size.py MODULE.wasm [--top N]
    scripts/wasm-size.py MODULE.wasm --count TEXT

`--count` prints how many functions have TEXT in their name as Rust spells
it (hash left off): a check that a generic library was instantiated only
for what it should be (one JSON reader, say, not two).

The module must keep its name section (worker-build's output before the
Makefile strips it). Rust symbols are read in their legacy mangling; a
function is counted to the first crate its name shows (for a trait impl,
the type's crate), and to `simbind-core::MODULE` or `edge-worker::MODULE`
for the project's own code.
"""

import re
import sys
import zlib
from collections import defaultdict


def leb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def sections(data):
    if data[:4] != b"\0asm":
        sys.exit("not a wasm module")
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, start = leb(data, pos + 1)
        yield sid, data[start:start + size]
        pos = start + size


def imported_functions(payload):
    count, pos = leb(payload, 0)
    funcs = 0
    for _ in range(count):
        for _ in range(2):  # module, field
            n, pos = leb(payload, pos)
            pos += n
        kind = payload[pos]
        pos += 1
        if kind == 0:  # function: type index
            _, pos = leb(payload, pos)
            funcs += 1
        elif kind == 1:  # table: reftype, limits
            pos += 1
            flags, pos = leb(payload, pos)
            _, pos = leb(payload, pos)
            if flags & 1:
                _, pos = leb(payload, pos)
        elif kind == 2:  # memory: limits
            flags, pos = leb(payload, pos)
            _, pos = leb(payload, pos)
            if flags & 1:
                _, pos = leb(payload, pos)
        elif kind == 3:  # global: valtype, mutability
            pos += 2
        else:  # tag
            pos += 1
            _, pos = leb(payload, pos)
    return funcs


def bodies(payload):
    count, pos = leb(payload, 0)
    out = []
    for _ in range(count):
        size, start = leb(payload, pos)
        out.append(payload[start:start + size])
        pos = start + size
    return out


def function_names(payload):
    names = {}
    pos = 0
    while pos < len(payload):
        kind = payload[pos]
        size, start = leb(payload, pos + 1)
        if kind == 1:
            count, p = leb(payload, start)
            for _ in range(count):
                idx, p = leb(payload, p)
                n, p = leb(payload, p)
                names[idx] = payload[p:p + n].decode("utf-8", "replace")
                p += n
        pos = start + size
    return names


def custom_name(payload):
    n, pos = leb(payload, 0)
    return payload[pos:pos + n].decode("utf-8", "replace")


CRATE = re.compile(r"[a-z_][a-z0-9_]*")
OWN = {"simbind_core": "simbind-core", "simbind_edge_worker": "edge-worker",
       "simbind_client": "client", "simbind_inspector": "inspector"}


def legacy_parts(name):
    """The path components of a legacy-mangled Rust symbol (`_ZN…E`), or None."""
    m = re.match(r"_ZN(.*)E(\.llvm\.\d+|\.\d+)?$", name)
    if not m:
        return None
    rest, parts = m.group(1), []
    while rest and rest[0].isdigit():
        n = int(re.match(r"\d+", rest).group())
        rest = rest[len(str(n)):]
        parts.append(rest[:n])
        rest = rest[n:]
    return parts


def v0_crate(name):
    """The first crate a v0-mangled symbol (`_R…`, the standard library's) names."""
    m = re.search(r"C(?:s[0-9A-Za-z]*_)?(\d+)", name)
    if not m:
        return None
    n, start = int(m.group(1)), m.end()
    return name[start:start + n]


STD = ("core", "alloc", "std")


LEGACY_ESCAPES = {"$u20$": " ", "$LT$": "<", "$GT$": ">", "$RF$": "&", "$BP$": "*",
                  "$u5b$": "[", "$u5d$": "]", "$C$": ",", "..": "::"}


def impl_path(first):
    """A legacy-mangled `<Type as Trait>` component as a `::` path: spelled
    out, then read as [`demangled_path`] reads impls."""
    text = first[1:]  # the leading `_` before `$LT$`
    for escape, plain in LEGACY_ESCAPES.items():
        text = text.replace(escape, plain)
    return demangled_path(text)


def demangled_path(name):
    """A demangled Rust name (wasm-bindgen demangles) as a `::` path; for
    `<Type as Trait>`, the type's, or the trait's for a blanket impl (`T`,
    `&T`) or a standard type (`PhantomData<T>` as a serde seed is serde's
    work). None when it does not look like Rust."""
    if name.startswith("<"):
        text = name[1:]
        for noise in ("&", "mut ", "const ", "dyn ", "*", "["):
            text = text.replace(noise, "")
        kind, _, trait = text.partition(" as ")
        kind_crate = re.match(r"[a-z_][a-z0-9_]*(?=::)", kind)
        text = trait if trait and (not kind_crate or kind_crate.group() in STD) else kind
        return text.split("::")
    if "::" in name:
        return name.split("::")
    return None


def plain_name(name):
    """A function's name as Rust spells it, without its hash (the same for
    every copy of a generic function)."""
    parts = legacy_parts(name)
    if parts is None:
        return re.sub(r"::h[0-9a-f]{16}$", "", name)
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts = parts[:-1]
    text = "::".join(parts)
    for escape, plain in LEGACY_ESCAPES.items():
        text = text.replace(escape, plain)
    return text


def owner(name):
    if "future_to_promise" in name:
        # An entry point's future (the fetch handler, each object's fetch,
        # alarms) with every handler it awaits inlined into it.
        return "async entry points (handlers inlined)"
    if not name.startswith(("_ZN", "_R")):
        # The standard library's demangled names carry `core[hash]`, and
        # legacy ones keep their `::h<hash>` suffix.
        plain = re.sub(r"::h[0-9a-f]{16}$", "", re.sub(r"\[[0-9a-f]{16}\]", "", name))
        path = demangled_path(plain)
        if path is None:
            return "other (not Rust)"
        return own_or_crate(path)
    if name.startswith("_R"):
        crate = v0_crate(name) or "?"
        return f"{crate} (Rust's)" if crate in STD else crate
    parts = legacy_parts(name)
    if parts is None:
        return "other (not Rust)"
    path = impl_path(parts[0]) if parts[0].startswith("_$LT$") else parts
    return own_or_crate(path)


def own_or_crate(path):
    """`simbind-core::module` for the project's code, else the crate."""
    crate = re.match(r"[a-z_][a-z0-9_]*", path[0])
    crate = crate.group() if crate else "?"
    if crate in OWN:
        module = re.sub(r"\$.*", "", path[1]) if len(path) > 2 else ""
        return f"{OWN[crate]}::{module}" if module else OWN[crate]
    return f"{crate} (Rust's)" if crate in STD else crate


SECTIONS = {1: "types", 2: "imports", 3: "function index", 4: "table", 5: "memory",
            6: "globals", 7: "exports", 9: "elements (indirect calls)", 12: "data count"}


def gz(data):
    return len(zlib.compress(data, 9))


def main():
    path = sys.argv[1]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 30
    data = open(path, "rb").read()
    imports, code, names, parts = 0, [], {}, defaultdict(bytearray)
    for sid, payload in sections(data):
        if sid == 2:
            imports = imported_functions(payload)
        elif sid == 10:
            code = bodies(payload)
        elif sid == 0:
            cname = custom_name(payload)
            if cname == "name":
                n, pos = leb(payload, 0)
                names = function_names(payload[pos + n:])
            else:
                parts[f"custom section {cname}"] += payload
        elif sid == 11:
            parts["data (strings, tables, constants)"] += payload
        else:
            parts[SECTIONS.get(sid, f"section {sid}")] += payload
    if not names:
        sys.exit("no name section: measure worker-build's output before it is stripped")
    if "--count" in sys.argv:
        at = sys.argv.index("--count") + 1
        if at >= len(sys.argv):
            sys.exit("--count needs the TEXT to look for")
        wanted = sys.argv[at]
        print(sum(1 for n in names.values() if wanted in plain_name(n)))
        return
    for i, body in enumerate(code):
        parts[owner(names.get(imports + i, ""))] += body
    parts.pop("custom section name", None)
    total_raw = sum(len(v) for v in parts.values())
    gzipped = {k: gz(bytes(v)) for k, v in parts.items()}
    total_gz = sum(gzipped.values())
    whole_gz = gz(data)
    print(f"{path}: {len(data)} bytes ({total_raw} without the name section); gzip {whole_gz}")
    print(f"{'part':48} {'raw':>9} {'gzip alone':>11} {'share':>7}")
    ranked = sorted(parts, key=lambda k: -gzipped[k])
    for k in ranked[:top]:
        print(f"{k[:48]:48} {len(parts[k]):9d} {gzipped[k]:11d} {100 * gzipped[k] / total_gz:6.1f}%")
    rest = ranked[top:]
    if rest:
        raw = sum(len(parts[k]) for k in rest)
        g = sum(gzipped[k] for k in rest)
        print(f"{f'{len(rest)} more parts':48} {raw:9d} {g:11d} {100 * g / total_gz:6.1f}%")


if __name__ == "__main__":
    main()
