"""`herald reports import-calls FILE` as a user runs it: the report per file, bad lines by line
number (exit 1), a missing column refused with what the file needs (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import data_dir, herald  # noqa: F401  (the data_dir fixture)

pytestmark = pytest.mark.integration


def test_import_calls_reports_each_line(data_dir: Path) -> None:  # noqa: F811
    good = data_dir / "calls.csv"
    good.write_text("date,reason,calls,alert_type\n2026-11-01,card query,12,large_debit\n")
    done = herald(data_dir, "reports", "import-calls", str(good), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) | {"errors": []} == {
        "filename": "calls.csv",
        "rows": 1,
        "imported": 1,
        "replaced": 0,
        "rejected": 0,
        "errors": [],
    }
    again = data_dir / "again.csv"
    again.write_text("date,reason,calls\n2026-11-01,card query,15\n2026-11-02,card query,-3\n")
    done = herald(data_dir, "reports", "import-calls", str(again))
    assert done.returncode == 1
    assert "2 lines, 0 imported, 1 replaced, 1 rejected" in done.stdout
    assert "line 3: calls “-3” is not a whole number" in done.stdout
    wrong = data_dir / "wrong.csv"
    wrong.write_text("day,count\n2026-11-01,3\n")
    done = herald(data_dir, "reports", "import-calls", str(wrong))
    assert done.returncode == 2 and "missing: date, reason, calls" in done.stderr
    assert "Traceback" not in done.stderr
