"""Every status write of an alert, a delivery attempt or a hand-off goes through the one move
function of its lifecycle (alerts/lifecycle/__init__.py; its single-statement forms in
alerts/lifecycle/statements.py; the moves of many rows in alerts/lifecycle/batches.py): no
``x.status = ...`` on them, no UPDATE of their tables, neither built with SQLAlchemy nor written
as SQL text, anywhere else in Herald's code. Read from the
source (ast), so a new direct write fails here with the file and line.

A ``.status`` assignment can belong to another table (an ingested file, a CRM delivery): those
are listed below by file and variable, each with what it is. A new one is added here only after
checking that it is not an alert, attempt or hand-off."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("alerts", "callcentre", "admin_ui", "herald", "channels", "benchmarks")
LIFECYCLE_TABLES = {"Alert", "DeliveryAttempt", "HandOff"}
MOVE_FUNCTIONS = tuple(
    Path(f"alerts/lifecycle/{name}.py") for name in ("__init__", "statements", "batches")
)
# An UPDATE of a lifecycle table written as SQL text (a string or an f-string's text)
SQL_UPDATE = re.compile(r"\bUPDATE\s+(alerts|delivery_attempts|handoffs)\b", re.IGNORECASE)

# (file, the variable whose .status is set): what it is.
OTHER_STATUSES = {
    ("alerts/crm/deliver.py", "delivery"): "a CRM webhook delivery (WebhookDelivery)",
    ("alerts/ingestion/files.py", "row"): "an ingested file (IngestFile)",
    ("alerts/responses/matching.py", "self"): "a matching result value, not a row",
    ("admin_ui/responses.py", "self"): "an HTTP response object",
    ("callcentre/simulation.py", "self"): "the call-centre simulation's own state",
    ("channels/twilio_sim/state.py", "self"): "the Twilio simulator's call and message records",
    ("channels/twilio_sim/api.py", "self"): "the Twilio simulator's API error",
    ("channels/twilio_sim/webhooks.py", "sent"): "the simulator's record of a request it sent",
}


def _sources() -> list[Path]:
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found.append(path)
    return found


def _writes(path: Path) -> list[tuple[str, int, str]]:
    """(kind, line, what) for each status assignment and each UPDATE of a lifecycle table."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    writes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    writes.append(("assign", node.lineno, ast.unparse(target.value)))
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            name = node.func.id if isinstance(node.func, ast.Name) else name
            first = ast.unparse(node.args[0]) if node.args else ""
            if name == "update" and first in LIFECYCLE_TABLES:
                writes.append(("update", node.lineno, first))
            if name == "setattr" and len(node.args) > 1 and ast.unparse(node.args[1]) == "'status'":
                writes.append(("setattr", node.lineno, first))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for table in SQL_UPDATE.findall(node.value):
                writes.append(("sql", node.lineno, table))
    return writes


def test_only_the_lifecycle_moves_write_an_alert_attempt_or_handoff_status() -> None:
    stray = []
    for path in _sources():
        relative = path.relative_to(ROOT)
        if relative in MOVE_FUNCTIONS:
            continue
        for kind, line, what in _writes(path):
            if kind == "assign" and (str(relative), what) in OTHER_STATUSES:
                continue
            stray.append(f"{relative}:{line}: {kind} of {what}.status")
    assert stray == [], (
        "status written outside alerts.lifecycle (use move_alert / move_attempt / "
        "move_handoff, or list another table's status in OTHER_STATUSES): " + "; ".join(stray)
    )


def test_the_scan_finds_a_direct_write(tmp_path: Path) -> None:
    """The scan itself is checked on code that does what the rule forbids."""
    sample = tmp_path / "sample.py"
    code = (
        "attempt.status = 'queued'\n"
        "await session.exec(update(DeliveryAttempt).values(status='queued'))\n"
        "setattr(alert, 'status', 'closed')\n"
        "SQL = 'update alerts set status = 1'\n"
        "SQL2 = f'UPDATE delivery_attempts SET status = {x}'\n"
    )
    sample.write_text(code, encoding="utf-8")
    assert sorted((line, kind, what) for kind, line, what in _writes(sample)) == [
        (1, "assign", "attempt"),
        (2, "update", "DeliveryAttempt"),
        (3, "setattr", "alert"),
        (4, "sql", "alerts"),
        (5, "sql", "delivery_attempts"),
    ]


def test_the_move_functions_themselves_are_where_the_writes_are() -> None:
    kinds = {(kind, what) for path in MOVE_FUNCTIONS for kind, _, what in _writes(ROOT / path)}
    assert {("assign", "row"), ("update", "DeliveryAttempt"), ("update", "HandOff")} <= kinds
    assert {("sql", "alerts"), ("sql", "delivery_attempts")} <= kinds
