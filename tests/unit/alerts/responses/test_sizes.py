"""alerts/responses/ stays readable: no function over ~60 lines or of complexity over ~15
unless its module's docstring names it and says why (the limits of tools/sizes.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from tools.sizes import complexity

ROOT = Path(__file__).resolve().parents[4]
MAX_LINES = 60
MAX_COMPLEXITY = 15


def oversized(package: Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        explained = ast.get_docstring(tree) or ""
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            score = complexity(node)
            if (lines > MAX_LINES or score > MAX_COMPLEXITY) and node.name not in explained:
                found.append(f"{path.relative_to(ROOT)}:{node.name} ({lines} lines, cc {score})")
    return found


def test_no_unexplained_long_or_complex_function_in_responses() -> None:
    assert oversized(ROOT / "alerts" / "responses") == []
