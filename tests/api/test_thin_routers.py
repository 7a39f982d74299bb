"""Routers are thin: no router module builds a query or touches a session itself; they hand the
session to the service functions below them (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROUTERS = [
    "alerts/api/customers.py",
    "alerts/api/alert_types.py",
    "alerts/api/ingest.py",
    "alerts/api/preferences.py",
    "alerts/api/recordings.py",
    "callcentre/api.py",
]
QUERY_BUILDERS = {"select", "update", "delete", "insert"}  # sqlmodel / sqlalchemy statements
STATEMENT_RUNNERS = {"exec", "execute", "scalar", "scalars"}  # session.exec(...) and friends
MODULES = {"sa", "sqlalchemy", "sqlmodel"}  # sa.select(...), sqlmodel.delete(...)


def database_calls(source: str, where: str = "<router>") -> list[str]:
    """``line: call`` for each query built, statement run or session method called."""
    found = []
    for node in ast.walk(ast.parse(source, filename=where)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in QUERY_BUILDERS:
            found.append(f"{node.lineno}: {func.id}(...)")
        elif isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else ""
            if (
                func.attr in STATEMENT_RUNNERS
                or (owner in MODULES and func.attr in QUERY_BUILDERS)
                or owner == "session"
            ):
                found.append(f"{node.lineno}: {owner or '…'}.{func.attr}(...)")
    return found


@pytest.mark.parametrize("module", ROUTERS)
def test_router_module_runs_no_query(module: str) -> None:
    source = (ROOT / module).read_text(encoding="utf-8")
    assert database_calls(source, module) == [], f"{module} queries the database itself"


def test_the_check_finds_each_kind_of_query() -> None:
    source = """
async def handler(session, other):
    rows = (await session.exec(select(Thing).where(Thing.id == 1))).all()
    await other.execute(update(Thing).values(a=1))
    await session.commit()
    session.add(Thing())
    sa.delete(Thing)
    insert(Thing)

@router.delete("/things/{id}")
async def remove(id: int) -> None:
    await delete_thing(session=session, id=id)
"""
    assert sorted(database_calls(source)) == [
        "3: select(...)",
        "3: session.exec(...)",
        "4: other.execute(...)",
        "4: update(...)",
        "5: session.commit(...)",
        "6: session.add(...)",
        "7: sa.delete(...)",
        "8: insert(...)",
    ]
