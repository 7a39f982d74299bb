"""Fixtures shared by the suite are defined once, in tests/conftest.py, not copied per module.

A module may still specialise a shared fixture: extend it (take the fixture of the same name) or
build it from something the shared one does not use (e.g. an app with extra routers). A copy —
a fixture of the same name that takes nothing the shared one does not — is refused.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

TESTS = REPO / "tests"


def _fixtures(path: Path) -> dict[str, set[str]]:
    """Fixture name -> the names of its parameters, for every fixture defined in ``path``."""
    found: dict[str, set[str]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Attribute) and target.attr == "fixture":
                found[node.name] = {a.arg for a in node.args.args}
    return found


def test_shared_fixtures_are_not_copied_into_test_modules() -> None:
    shared = _fixtures(TESTS / "conftest.py")
    assert {"client", "settings", "runtime", "stack"} <= set(shared)
    copies = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for name, params in _fixtures(path).items():
            if name in shared and name not in params and params <= shared[name] | {"request"}:
                copies.append(f"{path.relative_to(REPO)}: {name}({', '.join(sorted(params))})")
    assert not copies, "use the fixture in tests/conftest.py instead of a copy:\n" + "\n".join(
        copies
    )
