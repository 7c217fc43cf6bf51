#!/usr/bin/env python3
"""Layout report and check for the leadledger workspace (stdlib only; never runs cargo).

A crate is a directory under crates/ or tests/ with a Cargo.toml and a src/. Test code is
left out of every measure: `#[cfg(test)] mod NAME { ... }` blocks, and files under src/
named tests.rs or inside a tests/ directory. Measured:

1. Size: non-test lines of each .rs file under src/ (blank and comment-only lines not
   counted); the 10 largest are listed. --check fails for a file over MAX_LINES unless it
   is in ALLOW or in an EXEMPT crate (bench and the e2e tests: reported, never failed).
2. Import cycles between the top-level modules of each crate root (lib.rs, main.rs,
   src/bin/*.rs, src/bin/*/main.rs, Cargo.toml [lib]/[[bin]] paths; `#[path]` honoured).
   Edges come from `crate::a`, `super::` paths (resolved from the file's module path) and
   `crate::{a, b::c}` groups; a name the root re-exports (`pub use a::X`) counts as module
   a. The root is not a node. Cycles are found with Tarjan's SCCs. --check fails on any.
3. Public items of library crates: `pub fn|struct|enum|trait|type|const|static|mod|use`
   (not pub(crate), pub(super), pub(in ..)) at any nesting; `pub mod` of lib.rs apart.
4. SQL: string literals (plain or raw) whose text starts with a SQL keyword, optionally
   after `(` or a `{NAME}` placeholder, except message strings (arguments of log/error/
   assert macros, .context/.expect, attributes); include_str!/query_file! of a .sql file
   as "in files"; .sql files outside migrations/.

Usage: python3 scripts/layout.py [--check]
"""
import os, re, sys, tomllib
from collections import namedtuple
from pathlib import Path

MAX_LINES = 600
ALLOW: set[str] = set()  # workspace-relative paths allowed over MAX_LINES
EXEMPT = {"crates/bench", "tests"}  # crates whose sizes are reported, never failed
ROOT = Path(__file__).resolve().parent.parent
SQL_START = re.compile(r"(\{\w*\}\s*)*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP|LOCK|"
                       r"NOTIFY|LISTEN|TRUNCATE|SET|SHOW|BEGIN|COPY|DO)\b")
MESSAGE_CALLS = {"ensure", "bail", "anyhow", "panic", "unreachable", "todo", "assert", "assert_eq",
                 "assert_ne", "debug_assert", "trace", "debug", "info", "warn", "error", "println",
                 "eprintln", "print", "eprint", "context", "with_context", "expect"}
PUB_KINDS = {"fn", "struct", "enum", "trait", "type", "const", "static", "mod", "use"}
QUALIFIERS = {"async", "unsafe", "extern"}
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RAW_OPEN, NUMBER = re.compile(r'(#*)"'), re.compile(r"[0-9][0-9A-Za-z_]*(\.[0-9][0-9A-Za-z_]*)?")
Tok = namedtuple("Tok", "kind text line end")  # kind: ident str bstr char life num punct


def lex(src: str) -> list[Tok]:
    """Rust tokens with comments dropped; a string token's text is its contents."""
    toks, i, n, line = [], 0, len(src), 1

    def quoted(k, q):  # index of the closing quote q, escapes skipped
        while k < n and src[k] != q:
            k += 2 if src[k] == "\\" else 1
        return k
    while i < n:
        c, start = src[i], i
        if c.isspace():
            line += c == "\n"; i += 1; continue
        if src.startswith("//", i):
            i = src.find("\n", i) % (n + 1); continue  # -1 (no newline) becomes n
        if src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                step = src[i:i + 2]
                depth += (step == "/*") - (step == "*/"); i += 2 if step in ("/*", "*/") else 1
            line += src.count("\n", start, i); continue
        m = IDENT.match(src, i)
        prefix = m.group() if m else ""
        j = i + len(prefix)
        if prefix in ("", "b", "c") and src.startswith('"', j):  # string, byte or C string
            k = quoted(j + 1, '"'); tok = ("str" if not prefix else "bstr", src[j + 1:k]); i = k + 1
        elif prefix in ("r", "br", "cr") and (rm := RAW_OPEN.match(src, j)):  # raw strings
            close = '"' + rm.group(1)
            k = src.find(close, rm.end()) % (n + 1)
            tok = ("str" if prefix == "r" else "bstr", src[rm.end():k]); i = k + len(close)
        elif prefix == "b" and src.startswith("'", j):  # byte char
            k = quoted(j + 1, "'"); tok = ("char", src[j + 1:k]); i = k + 1
        elif prefix == "r" and src.startswith("#", j) and (rm := IDENT.match(src, j + 1)):
            tok = ("ident", rm.group()); i = rm.end()  # raw identifier r#type
        elif prefix:
            tok = ("ident", prefix); i = j
        elif c == "'" and (src.startswith("\\", i + 1) or src[i + 2:i + 3] == "'"):
            k = quoted(i + 1, "'"); tok = ("char", src[i + 1:k]); i = k + 1  # '"', '\''
        elif c == "'":  # lifetime or label
            k = m.end() if (m := IDENT.match(src, i + 1)) else i + 1
            tok = ("life", src[i:k]); i = k
        elif c.isdigit():
            m = NUMBER.match(src, i); tok = ("num", m.group()); i = m.end()
        else:
            t = src[i:i + 2] if src[i:i + 2] in ("::", "->", "=>") else c
            tok = ("punct", t); i += len(t)
        end = line + src.count("\n", start, i)
        toks.append(Tok(tok[0], tok[1], line, end)); line = end
    return toks


def brace(t, b):  # is t the punctuation b (not a string or char that reads b)?
    return t.kind == "punct" and t.text == b


def match_close(toks, k):
    """Index of the bracket closing the one at toks[k]."""
    o, c, depth = toks[k].text, {"{": "}", "(": ")", "[": "]"}[toks[k].text], 0
    for j in range(k, len(toks)):
        depth += brace(toks[j], o) - brace(toks[j], c)
        if depth == 0:
            return j
    return len(toks) - 1


def skip_attrs_vis(toks, k):
    """Index past any `#[...]` attributes and a visibility (`pub`, `pub(...)`)."""
    while k + 1 < len(toks) and toks[k].text == "#" and toks[k + 1].text == "[":
        k = match_close(toks, k + 1) + 1
    if k < len(toks) and toks[k].text == "pub":
        k += 1 + (k + 1 < len(toks) and toks[k + 1].text == "(")
        if toks[k - 1].text == "(": k = match_close(toks, k - 1) + 1
    return k


def strip_tests(toks):
    """The tokens outside `#[cfg(test)] mod NAME { ... }` blocks."""
    out, i = [], 0
    while i < len(toks):
        if [t.text for t in toks[i:i + 7]] == ["#", "[", "cfg", "(", "test", ")", "]"]:
            k = skip_attrs_vis(toks, i + 7)
            if k + 2 < len(toks) and toks[k].text == "mod" and toks[k + 2].text == "{":
                i = match_close(toks, k + 2) + 1; continue
        out.append(toks[i]); i += 1
    return out


def is_test_file(rel_in_src: Path):
    return rel_in_src.name == "tests.rs" or "tests" in rel_in_src.parts[:-1]


def use_tree(toks, k, segs=()):
    """Parse the use tree at toks[k]: ([(path segments, bound name)], index past it)."""
    segs, res = list(segs), []
    while k < len(toks) and toks[k].kind == "ident":
        segs.append(toks[k].text); k += 1
        if k >= len(toks) or toks[k].text != "::":
            name = segs[-1] if segs[-1] != "self" or len(segs) < 2 else segs[-2]
            if k + 1 < len(toks) and toks[k].text == "as": name, k = toks[k + 1].text, k + 2
            return [(segs, name)], k
        k += 1
    if k < len(toks) and toks[k].text == "{":
        k += 1
        while k < len(toks) and toks[k].text != "}":
            sub, k = use_tree(toks, k, segs); res += sub
            k += k < len(toks) and toks[k].text == ","
    return res, k + 1


def root_modules(root: Path, rtoks):
    """Modules declared in a crate root: {name: [(file, module path)]}, plus re-exports."""
    mods, depth, i = {}, 0, 0
    while i < len(rtoks):
        k = skip_attrs_vis(rtoks, i) if depth == 0 else i
        if depth == 0 and k + 2 < len(rtoks) and rtoks[k].text == "mod" and rtoks[k + 2].text == ";":
            attrs, name = [t.text for t in rtoks[i:k]], rtoks[k + 1].text
            path = [t.text for t in rtoks[i:k] if t.kind == "str"] if "path" in attrs else []
            if "cfg" in attrs and "test" in attrs:
                pass  # a test module
            elif path:
                mods[name] = [((root.parent / path[0]).resolve(), [name])]
            else:
                mods[name] = [(p, [name]) for p in (root.parent / f"{name}.rs",) if p.exists()]
                for p in sorted((root.parent / name).rglob("*.rs")):
                    rel = p.relative_to(root.parent).with_suffix("")
                    if not is_test_file(p.relative_to(root.parent)):
                        mods[name].append((p, list(rel.parts[:-1] if p.name == "mod.rs" else rel.parts)))
            i = k + 3; continue
        depth += brace(rtoks[i], "{") - brace(rtoks[i], "}"); i = max(k, i + 1)
    reexports = {}
    for i, t in enumerate(rtoks):
        if t.text == "use" and (i == 0 or rtoks[i - 1].text in (";", "}", "]", "pub", ")")):
            for segs, name in use_tree(rtoks, i + 1)[0]:
                segs = segs[1:] if segs[0] in ("crate", "self") else segs
                if segs and segs[0] in mods and name not in mods: reexports[name] = segs[0]
    return mods, reexports


def refs(toks, modpath):
    """(first segment below the crate root, line) of each crate::/super:: path in a file."""
    out, inline, depth = [], [], 0
    for i, t in enumerate(toks):
        depth += brace(t, "{") - brace(t, "}")
        if inline and inline[-1][1] > depth: inline.pop()
        if t.text == "mod" and i + 2 < len(toks) and toks[i + 2].text == "{":
            inline.append((toks[i + 1].text, depth + 1))  # inline `mod x { }` nests the path
        prev, nxt = toks[i - 1].text if i else "", toks[i + 1].text if i + 1 < len(toks) else ""
        if t.text not in ("crate", "super") or nxt != "::" or prev in ("::", "in"):
            continue
        base, k = modpath + [m for m, _ in inline], i
        while k + 1 < len(toks) and toks[k].text == "super" and toks[k + 1].text == "::":
            base, k = base[:-1], k + 2
        if t.text == "crate": base, k = [], i + 2
        if base: out.append((base[0], t.line))
        elif k < len(toks) and toks[k].kind == "ident": out.append((toks[k].text, t.line))
        elif k < len(toks) and toks[k].text == "{":
            out += [(segs[0], t.line) for segs, _ in use_tree(toks, k)[0]]
    return out


def sccs(graph):
    """Tarjan's strongly connected components."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index); stack.append(v); on.add(v)
        for w in sorted(graph[v]):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = [stack.pop()]
            while comp[-1] != v: comp.append(stack.pop())
            on.difference_update(comp); out.append(sorted(comp))
    for v in sorted(graph):
        if v not in index: visit(v)
    return out


def cycles_in(comp, graph, limit=20):
    """Elementary cycles within one SCC, each starting at its smallest module."""
    found = []

    def walk(start, path):
        for w in sorted(graph[path[-1]] & set(comp)):
            if w == start: found.append(path + [w])
            elif w > start and w not in path and len(found) < limit: walk(start, path + [w])
    for s in comp: walk(s, [s])
    return found[:limit]


def crate_roots(crate: Path):
    """lib.rs, main.rs, src/bin/*.rs, src/bin/*/main.rs and Cargo.toml [lib]/[[bin]] paths."""
    roots = {p for p in (crate / "src/lib.rs", crate / "src/main.rs") if p.exists()}
    roots |= set((crate / "src/bin").glob("*.rs")) | set((crate / "src/bin").glob("*/main.rs"))
    manifest = tomllib.loads((crate / "Cargo.toml").read_text())
    for target in [manifest.get("lib", {})] + manifest.get("bin", []):
        if (crate / target.get("path", "-")).is_file(): roots.add(crate / target["path"])
    return sorted({r.resolve() for r in roots})


def module_cycles(label, mods, reexports, tokens):
    """(cycle, evidence) for each elementary cycle between the modules of one crate root."""
    graph, where, out = {m: set() for m in mods}, {}, []
    for mod, entries in mods.items():
        for f, modpath in entries:
            for name, line in refs(tokens(f), modpath):
                target = name if name in mods else reexports.get(name)
                if target and target != mod:
                    graph[mod].add(target)
                    where.setdefault((mod, target), f"{f.relative_to(ROOT)}:{line}")
    for comp in (c for c in sccs(graph) if len(c) > 1):
        for cyc in cycles_in(comp, graph):
            shown = f"{cyc[0]} <-> {cyc[1]}" if len(cyc) == 3 else " -> ".join(cyc)
            tangle = f"  [one tangle: {', '.join(comp)}]" if len(comp) > len(cyc) - 1 else ""
            out.append((f"{label}: {shown}{tangle}",
                         "; ".join(f"{a} -> {b} at {where[(a, b)]}" for a, b in zip(cyc, cyc[1:]))))
    return out


def pub_items(toks):
    """{kind: count} of `pub` items (not `pub(...)`); `pub const fn` etc. count as fn."""
    kinds = {}
    for i, t in enumerate(toks[:-1]):
        if t.text != "pub" or toks[i + 1].text == "(":
            continue
        k = i + 1  # past async / unsafe / extern "C" / the const of a const fn
        while k + 1 < len(toks) and (toks[k].text in QUALIFIERS or toks[k].kind == "str" or
                                     toks[k].text == "const" and toks[k + 1].text in QUALIFIERS | {"fn"}):
            k += 1
        if toks[k].text in PUB_KINDS: kinds[toks[k].text] = kinds.get(toks[k].text, 0) + 1
    return kinds


def sql_counts(toks):
    """(inline SQL statements, include_str!/query_file! of .sql files) in one file."""
    inline = in_files = 0
    within = [""]  # per open bracket: "attr" (all of an attribute), "msg" (a message call's own args)
    for i, t in enumerate(toks):
        prev, prev2 = (toks[i - 1].text if i else ""), (toks[i - 2].text if i > 1 else "")
        if t.kind == "punct" and t.text in ("(", "[", "{"):
            call = prev2 if prev == "!" else prev if prev2 == "." else ""
            within.append("attr" if within[-1] == "attr" or (t.text == "[" and prev in ("#", "!"))
                          else "msg" if call in MESSAGE_CALLS else "")
        elif t.kind == "punct" and t.text in (")", "]", "}") and len(within) > 1:
            within.pop()
        elif t.kind == "str" and not within[-1]:
            text = re.sub(r"\\\n\s*|\\[nrt]", " ", t.text).strip().lstrip("( \t\n").upper()
            inline += bool(SQL_START.match(text))
        if (t.text == "include_str" or t.text.startswith("query_file")) and i + 2 < len(toks) \
                and toks[i + 1].text == "!" and toks[i + 2].text == "(":
            args = toks[i + 2:match_close(toks, i + 2)]
            in_files += any(a.kind == "str" and a.text.endswith(".sql") for a in args)
    return inline, in_files


def main(check: bool) -> int:
    crates = sorted(Path(d).relative_to(ROOT) for top in ("crates", "tests")
                    for d, subs, files in os.walk(ROOT / top)
                    if "Cargo.toml" in files and "src" in subs and "target" not in Path(d).parts)
    cache, sizes, sql_rows, pub_rows, cycles = {}, [], [], [], []

    def tokens(path: Path):
        if path not in cache: cache[path] = strip_tests(lex(path.read_text()))
        return cache[path]
    for crate in crates:
        src = (ROOT / crate / "src").resolve()
        files = sorted(p for p in src.rglob("*.rs") if not is_test_file(p.relative_to(src)))
        sizes += [(len({n for t in tokens(f) for n in range(t.line, t.end + 1)}),
                   str(f.relative_to(ROOT)), str(crate) in EXEMPT) for f in files]
        counts = [sql_counts(tokens(f)) for f in files]
        sql_files = sum(x.endswith(".sql") for d, _, fs in os.walk(ROOT / crate) for x in fs
                        if not {"migrations", "target"} & set(Path(d).relative_to(ROOT / crate).parts))
        sql_rows.append((str(crate), sum(c[0] for c in counts), sum(c[1] for c in counts), sql_files))
        roots = crate_roots(ROOT / crate)
        for root in roots:
            label = str(root.relative_to(ROOT)).removesuffix("/main.rs")  # src/bin/NAME[.rs]
            if root.parent == src:  # lib.rs or main.rs: the crate, and which root if it has both
                label = str(crate) + (f" ({root.name})" if sum(r.parent == src for r in roots) > 1 else "")
            mods, reexports = root_modules(root, tokens(root))
            cycles += module_cycles(label, mods, reexports, tokens)
            if root == src / "lib.rs":
                rt = tokens(root)
                kinds = pub_items([t for es in mods.values() for f, _ in es for t in tokens(f)] + rt)
                pub_mods = sum(t.text == "pub" and u.text == "mod" for t, u in zip(rt, rt[1:]))
                pub_rows.append((str(crate), sum(kinds.values()), pub_mods, kinds))

    sizes.sort(key=lambda s: (-s[0], s[1]))
    over = [(n, r) for n, r, ex in sizes if n > MAX_LINES and not ex and r not in ALLOW]
    out = [f"== Largest non-test files (non-blank, non-comment lines; limit {MAX_LINES})"]
    for i, (n, rel, exempt) in enumerate(sizes):
        note = " (exempt crate)" if exempt else " (allow-listed)" if rel in ALLOW else ""
        if i < 10 or (n, rel) in over:  # the top 10, then any other file over the limit
            out.append(f"{n:6}  {rel}{note}{' OVER LIMIT' if (n, rel) in over else ''}")
    out.append(f"\n== Import cycles between modules ({len(cycles)})")
    out += [f"{shown}\n        {edges}" for shown, edges in cycles] or ["none"]
    out.append("\n== Public items per library crate (pub, not pub(...); non-test)")
    out.append(f"{'crate':24}{'items':>7}{'pub mods':>10}  by kind")
    for c, n, m, ks in pub_rows:
        out.append(f"{c:24}{n:7}{m:10}  " + ", ".join(f"{k} {v}" for k, v in sorted(ks.items())))
    out.append("\n== SQL per crate (non-test code)")
    out.append(f"{'crate':24}{'inline':>7}{'in files':>10}{'.sql files':>12}")
    out += [f"{c:24}{a:7}{b:10}{f:12}" for c, a, b, f in sql_rows]
    total = [sum(r[i] for r in sql_rows) for i in (1, 2, 3)]
    out.append(f"{'total':24}{total[0]:7}{total[1]:10}{total[2]:12}")
    if not check:
        print("\n".join(out)); return 0
    problems = [f"{r}: {n} non-test lines > {MAX_LINES}" for n, r in over]
    problems += [f"import cycle {shown}" for shown, _ in cycles]
    if problems:
        print("layout check FAILED:\n  " + "\n  ".join(problems), file=sys.stderr); return 1
    print(f"layout check passed: no import cycles, no file over {MAX_LINES} non-test lines"
          " outside ALLOW and EXEMPT")
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
