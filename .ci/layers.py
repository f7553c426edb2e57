#!/usr/bin/env python3
"""Checks the layers of src/: no import loop between areas, and no area using
another area's handlers.

An area is a top-level module of src/ (a folder or a file). Its *pages* are the files
that hold the handlers its `router()` names (`get(parent::browse)` makes `parent.rs`
a page file; a handler in `mod.rs` makes `mod.rs` one); the rest is its *core*
(domain, store, use cases, emails). Every `crate::<area>::<module>` path in a file is
an arrow to that module's file. The arrows between the nodes "area" and "area pages"
must form no cycle, and only `app` may point at another area's pages. Prints every
loop with the files making its arrows; exits 1 if there is one.

    python3 .ci/layers.py            # check
    python3 .ci/layers.py --graph    # and print the arrows
"""
import os, re, sys
from collections import defaultdict

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
ROOTS = {"lib", "main", "app", "cli"}  # the top: they wire every area together

def rel(p): return os.path.relpath(p, SRC)

TOKENS = re.compile(
    r'//[^\n]*|/\*.*?\*/|r(#*)".*?"\1|b?"(?:[^"\\]|\\.)*"|\'(?:\\.|[^\\\'])\'', re.S)

def strip(text):
    """The code without comments, strings and char literals (which may hold `"`)."""
    text = TOKENS.sub(lambda m: "" if m.group(0).startswith("/") else '""', text)
    return text.split("#[cfg(test)]")[0]

def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]"""
    tree = tree.strip()
    m = re.match(r"^([\w:]*?)\{(.*)\}$", tree, re.S)
    if not m:
        return [tree]
    prefix, body = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "{": depth += 1
        elif ch == "}": depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur); cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [x for p in parts if p.strip() for x in expand_use(prefix + p.strip())]

def module_file(parts):
    """The file of the longest module path in `parts` (["bookings", "store", "find"])."""
    best = None
    for n in range(1, len(parts) + 1):
        base = os.path.join(SRC, *parts[:n])
        for cand in (base + ".rs", os.path.join(base, "mod.rs")):
            if os.path.isfile(cand):
                best = cand
                break
        else:
            if n > 1: break
    return best

def paths_in(path, text):
    """Every crate-absolute module path the file refers to."""
    mod_parts = rel(path)[:-3].split(os.sep)
    if mod_parts[-1] == "mod": mod_parts = mod_parts[:-1]
    here = mod_parts if path.endswith("mod.rs") else mod_parts[:-1]
    found = []
    for tree in re.findall(r"\buse\s+([^;]+);", text):
        for p in expand_use(tree):
            found.append(p)
    found += re.findall(r"\b((?:crate|super)(?:::\w+)+)", text)
    out = []
    for p in found:
        p = re.sub(r"\s+as\s+\w+$", "", p.strip())
        segs = [s for s in p.split("::") if s]
        if not segs: continue
        if segs[0] == "crate":
            out.append(segs[1:])
        elif segs[0] == "super":
            base = list(here)
            while segs and segs[0] == "super":
                segs = segs[1:]; base = base[:-1]
            out.append(base + segs)
        elif segs[0] == "self":
            out.append(list(here) + segs[1:])
    return out

files = []
for root, _, names in os.walk(SRC):
    files += [os.path.join(root, f) for f in names if f.endswith(".rs")]
texts = {f: strip(open(f, encoding="utf-8").read()) for f in files}

def area_of(path):
    head = rel(path).split(os.sep)[0]
    return head[:-3] if head.endswith(".rs") else head

# Page files: those holding the handlers a router names.
pages = set()
for f, text in texts.items():
    for handler in re.findall(r"\.route\(\s*\"[^\"]*\"\s*,\s*([^\n]*)", text):
        for call in re.findall(r"\b(?:get|post|put|delete|patch)\(([\w:]+)\)", handler):
            segs = call.split("::")
            folder = os.path.dirname(f)
            if len(segs) == 1:
                pages.add(f)
            else:
                target = module_file(rel(folder).split(os.sep) + segs[:-1]) if rel(folder) != "." else None
                if target: pages.add(target)

def node(path):
    a = area_of(path)
    return f"{a} pages" if path in pages else a

edges = defaultdict(lambda: defaultdict(set))
problems = []
for f, text in texts.items():
    if area_of(f) in ROOTS: continue
    for parts in paths_in(f, text):
        if not parts: continue
        target = module_file(parts)
        if not target or target == f: continue
        a, b = node(f), node(target)
        if area_of(target) in ROOTS and area_of(target) != "lib":
            problems.append(f"{rel(f)} uses {rel(target)}, which wires the whole app")
        if a == b: continue
        edges[a][b].add(rel(f))
        if b.endswith(" pages") and area_of(f) != area_of(target):
            problems.append(f"{rel(f)} uses another area's handlers in {rel(target)}")

index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in list(edges[v]):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        comps.append(comp)
sys.setrecursionlimit(10000)
for v in sorted(set(edges) | {b for a in edges for b in edges[a]}):
    if v not in index: strong(v)

if "--graph" in sys.argv:
    for a in sorted(edges):
        print(f"{a} -> {', '.join(sorted(edges[a]))}")
for comp in (sorted(c) for c in comps if len(c) > 1):
    problems.append("import loop: " + " / ".join(comp) + "\n" + "\n".join(
        f"    {a} -> {b}: {', '.join(sorted(edges[a][b]))}"
        for a in comp for b in sorted(edges[a]) if b in comp))
for p in sorted(set(problems)):
    print(p)
sys.exit(1 if problems else 0)
