"""`make bench` ends with one table: each benchmark appends its headline rows to the file named
by HERALD_BENCH_SUMMARY and `benchmarks.summary` prints them. Shown here with the real sweep
benchmark at a tiny size, and with the row shapes of the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import summary
from benchmarks import sweep as sweep_bench


def test_a_benchmark_run_lands_in_the_summary_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "summary.jsonl"
    monkeypatch.setenv(summary.ENV, str(target))
    assert sweep_bench.main(["--sizes", "200,400"]) == 0
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(rows) == 1 and rows[0][0] == "sweep" and "400 paced alerts" in rows[0][2]
    assert rows[0][5].endswith("x the time") and rows[0][6] == "~1x (flat)"
    capsys.readouterr()
    assert summary.main([str(target)]) == 0
    out = capsys.readouterr().out
    header, rule, line = out.strip().splitlines()[-3:]
    assert header.startswith("| benchmark") and "target" in header and set(rule) <= set("|- ")
    assert line.startswith("| sweep") and "cores" in out


def test_without_the_setting_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(summary.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    summary.record("x", [["-", "figure", "1", "2", "0.50x", "-"]])
    assert list(tmp_path.iterdir()) == []


def test_a_row_of_the_wrong_width_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(summary.ENV, str(tmp_path / "s.jsonl"))
    with pytest.raises(ValueError, match="6 cells"):
        summary.record("x", [["too", "short"]])


def test_the_targets_are_matched_to_the_throughput_and_delivery_rows() -> None:
    rows = summary.with_targets(
        [
            ["postgresql", "decisions end to end (5 events)", "1 events/s", "2", "0.50x"],
            ["postgresql", "delivery, 2 worker process(es) (1/1 handed off)", "1", "2", "0.50x"],
            ["postgresql", "something new", "1", "2", "0.50x"],
        ]
    )
    assert rows[0][-1].startswith(">= 10,000 events/s")
    assert rows[1][-1].startswith(">= 1,000 steps/s")
    assert rows[2][-1] == "-"


def test_a_missing_file_says_how_to_make_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert summary.main([str(tmp_path / "none.jsonl")]) == 2
    assert summary.ENV in capsys.readouterr().err
