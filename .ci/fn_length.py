#!/usr/bin/env python3
"""Lists functions in src/ longer than 80 lines (the demo data and tests excepted):
a function that long is doing a use case's and a handler's work at once. Exits 1 if
there is one.

    python3 .ci/fn_length.py [limit]
"""
import os, re, sys

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 80
EXEMPT = ("demo.rs", os.path.join("demo", ""))
TOKENS = re.compile(r'//[^\n]*|/\*.*?\*/|r(#*)".*?"\1|b?"(?:[^"\\]|\\.)*"|\'(?:\\.|[^\\\'])\'', re.S)
FN = re.compile(r"\bfn\s+(\w+)")

def blank(m):
    # Keep the line count: replace a token by its newlines only.
    return "\n" * m.group(0).count("\n") if m.group(0).startswith("/") else '""' + "\n" * m.group(0).count("\n")

long = []
for root, _, names in os.walk(SRC):
    for name in names:
        path = os.path.join(root, name)
        rel = os.path.relpath(path, SRC)
        if not name.endswith(".rs") or rel.startswith(EXEMPT):
            continue
        text = TOKENS.sub(blank, open(path, encoding="utf-8").read())
        text = text.split("#[cfg(test)]")[0]
        for m in FN.finditer(text):
            open_at = text.find("{", m.end())
            semi = text.find(";", m.end())
            if open_at < 0 or (0 <= semi < open_at):
                continue  # a declaration without a body
            depth, i = 0, open_at
            while i < len(text):
                if text[i] == "{": depth += 1
                elif text[i] == "}":
                    depth -= 1
                    if depth == 0: break
                i += 1
            start = text.count("\n", 0, m.start()) + 1
            lines = text.count("\n", m.start(), i) + 1
            if lines > LIMIT:
                long.append((lines, f"{rel}:{start}", m.group(1)))
for lines, where, name in sorted(long, reverse=True):
    print(f"{lines:4} lines  {where}  fn {name}")
sys.exit(1 if long else 0)
