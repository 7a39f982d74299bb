"""The import graph against docs/architecture.md: no cycle, no import the document forbids.

The allowed imports are read from the document's ``imports`` block, so the map a newcomer reads
and the rule the suite enforces cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("rules", "xml_adapters", "channels", "alerts", "callcentre", "admin_ui", "herald")
OURS = (*PACKAGES, "benchmarks")
Imports = dict[str, set[tuple[str, str]]]  # module -> {(imported module, where)}


def allowed_table() -> dict[str, set[str]]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"```imports\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ```imports block"
    table: dict[str, set[str]] = {}
    for line in block.group(1).splitlines():
        part, _, allowed = line.partition(":")
        table[part.strip()] = set(allowed.split())
    return table


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> list[Path]:
    return sorted(p for package in OURS for p in (ROOT / package).rglob("*.py"))


def imports_in(source: str, where: str, modules: set[str]) -> set[tuple[str, str]]:
    """Our modules that ``source`` imports (anywhere in it, TYPE_CHECKING blocks included)."""
    found: set[tuple[str, str]] = set()
    tree = ast.parse(source, filename=where)
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from alerts.responses import voice_script`` imports a module, not a name
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                for a in node.names
            ]
        for name in names:
            if name.split(".")[0] in OURS:
                found.add((name, f"{where}:{getattr(node, 'lineno', 0)}"))
    return found


def graph() -> Imports:
    files = source_files()
    modules = {module_name(p) for p in files}
    return {
        module_name(p): imports_in(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)), modules)
        for p in files
    }


def part_of(module: str, table: dict[str, set[str]]) -> str:
    """The architecture part a module belongs to: ``alerts.delivery`` for its modules, ..."""
    pieces = module.split(".")
    for n in (2, 1):
        candidate = ".".join(pieces[:n])
        if candidate in table:
            return candidate
    return pieces[0]


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_every_part_of_the_code_is_in_the_document() -> None:
    table = allowed_table()
    parts = {part_of(m, table) for m in graph()}
    parts.discard("alerts")  # the package's own __init__ (a docstring)
    unlisted = sorted(p for p in parts if p not in table)
    assert not unlisted, (
        f"{unlisted} are not in docs/architecture.md's imports table: "
        "add each with what it owns and may import"
    )


def test_no_import_the_document_forbids() -> None:
    table = allowed_table()
    wrong: list[str] = []
    for module, imported in graph().items():
        source = part_of(module, table)
        allowed = table.get(source, set())
        if "*" in allowed:
            continue
        for target, where in sorted(imported):
            dest = part_of(target, table)
            if dest in (source, "alerts") or dest in allowed:
                continue
            wrong.append(f"{where}: {source} imports {target} ({dest} is not allowed)")
    assert not wrong, "\n".join(wrong)


def test_no_cycle_between_parts() -> None:
    table = allowed_table()
    edges: dict[str, set[str]] = defaultdict(set)
    for module, imported in graph().items():
        source = part_of(module, table)
        for target, _ in imported:
            dest = part_of(target, table)
            if dest != source and dest != "alerts":
                edges[source].add(dest)
    assert find_cycle(edges) is None, f"import cycle between parts: {find_cycle(edges)}"


def test_no_cycle_between_modules() -> None:
    edges = {m: {t for t, _ in imported if t != m} for m, imported in graph().items()}
    modules = set(edges)
    # a package's __init__ importing its own module is not a cycle of the layout
    edges = {
        m: {t for t in ts if t in modules and not m.startswith(t + ".")} for m, ts in edges.items()
    }
    cycle = find_cycle(edges)
    assert cycle is None, f"modules import each other: {' -> '.join(cycle or [])}"


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": set()}, False),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
        ({"a": {"a"}}, True),
    ],
)
def test_the_cycle_finder_finds_cycles(edges: dict[str, set[str]], expected: bool) -> None:
    assert (find_cycle(edges) is not None) is expected


def test_the_table_and_the_reader_agree_on_a_forbidden_import() -> None:
    """The checker itself: ``alerts`` importing ``callcentre`` is forbidden, named with its line."""
    table = allowed_table()
    assert part_of("alerts.delivery.steps", table) == "alerts.delivery"
    assert part_of("callcentre.state", table) == "callcentre"
    assert "callcentre" not in table["alerts.delivery"]
    source = "import os\n\ndef f():\n    from callcentre.state import StoredCentre\n"
    found = imports_in(source, "alerts/delivery/probe.py", {"callcentre.state"})
    assert found == {("callcentre.state", "alerts/delivery/probe.py:4")}
