"""The repository is self-contained: no code, test or build file reads a path outside it.

A fresh clone has nothing beside it (no sibling reference folder, no developer's machine paths),
so everything a test reads is vendored under tests/data/ with its licence.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO

SCANNED = ("herald", "tests", "benchmarks", "tools", ".ci")
SCANNED_FILES = ("Makefile", "package.json", "pyproject.toml", "Dockerfile", "compose.yaml")
SUFFIXES = {".py", ".sh", ".toml", ".yaml", ".yml", ".json", ".cfg", ".ini", ""}
SKIPPED = {REPO / "tests" / "data", REPO / "tests" / "golden"}  # data, not code
# Written in pieces so that this file does not match itself.
OUTSIDE = re.compile(
    "|".join(
        (
            r"\.\./" + "shared",  # the sibling folder a fresh clone does not have
            "/" + "work/",  # a developer machine's absolute paths
            r"REPO\.parent\b",  # anything beside the repository
            r"""["']""" + "shared" + r"""["']\s*/""",  # a path built from a "shared" segment
        )
    )
)


def _files() -> list[Path]:
    found = [REPO / name for name in SCANNED_FILES if (REPO / name).is_file()]
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*")):
            if any(path.is_relative_to(skip) for skip in SKIPPED) or "__pycache__" in path.parts:
                continue
            if path.is_file() and path.suffix in SUFFIXES:
                found.append(path)
    return found


def test_nothing_reads_a_path_outside_the_repository() -> None:
    files = _files()
    assert len(files) > 50 and REPO / "tests" / "contract" / "conftest.py" in files
    offending = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not offending, "paths outside the repository:\n" + "\n".join(offending)


def test_the_reference_data_carries_its_licences() -> None:
    twilio = REPO / "tests" / "data" / "reference" / "twilio"
    assert (twilio / "twilio_api_v2010.json").stat().st_size > 1_000_000
    assert "MIT License" in (twilio / "LICENSE.twilio-oai").read_text()
    readme = (REPO / "tests" / "data" / "reference" / "README.md").read_text()
    assert "twilio/twilio-oai" in readme and "genkgo/camt" in readme
