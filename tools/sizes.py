"""Sizes as a habit: module and function lengths, cyclomatic complexity, untyped dicts.

    python tools/sizes.py [--top N] [PACKAGE ...]

Prints the longest modules, the longest and most complex functions, and how many times
``dict[str, Any]`` is written in the source (an untyped seam: the goal is under 40, kept for the
real boundaries such as raw provider parameters and template context). Modules over ~400 lines
and functions over ~60 lines or complexity ~15 should say why in their docstring.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("alerts", "channels", "rules", "xml_adapters", "admin_ui", "callcentre", "herald")
UNTYPED = re.compile(r"dict\[str,\s*Any\]")
BRANCHES = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ExceptHandler,
    ast.With,
    ast.AsyncWith,
    ast.IfExp,
    ast.comprehension,
    ast.Assert,
    ast.match_case,
)


def complexity(func: ast.AST) -> int:
    """McCabe's number, as radon and mccabe count it (close enough to compare functions)."""
    score = 1
    for node in ast.walk(func):
        if isinstance(node, BRANCHES):
            score += 1
        elif isinstance(node, ast.BoolOp):
            score += len(node.values) - 1
    return score


def files(packages: tuple[str, ...]) -> list[Path]:
    return sorted(
        p
        for package in packages
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=list(PACKAGES))
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    modules: list[tuple[int, str]] = []
    functions: list[tuple[int, int, str]] = []
    untyped: dict[str, int] = {}
    for path in files(tuple(args.packages)):
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(ROOT))
        modules.append((len(text.splitlines()), name))
        if count := len(UNTYPED.findall(text)):
            untyped[name] = count
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                functions.append((length, complexity(node), f"{name}:{node.name}"))
    out = sys.stdout
    out.write(f"modules over 400 lines ({sum(n > 400 for n, _ in modules)}), longest first:\n")
    for lines, name in sorted(modules, reverse=True)[: args.top]:
        out.write(f"  {lines:5d}  {name}\n")
    long_ = [f for f in functions if f[0] > 60]
    out.write(f"\nfunctions over 60 lines ({len(long_)}), longest first:\n")
    for lines, cc, name in sorted(functions, reverse=True)[: args.top]:
        out.write(f"  {lines:5d} lines  cc {cc:3d}  {name}\n")
    complex_ = [f for f in functions if f[1] > 15]
    out.write(f"\nfunctions of complexity over 15 ({len(complex_)}), most complex first:\n")
    for lines, cc, name in sorted(functions, key=lambda f: -f[1])[: args.top]:
        out.write(f"  cc {cc:3d}  {lines:5d} lines  {name}\n")
    total = sum(untyped.values())
    out.write(f"\ndict[str, Any] written {total} times (goal: under 40), most first:\n")
    for name, count in sorted(untyped.items(), key=lambda kv: -kv[1])[: args.top]:
        out.write(f"  {count:4d}  {name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
