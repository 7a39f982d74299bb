"""The CSV of a report's table: numbers as in the JSON, empty for "not shown", formulas defused."""

from __future__ import annotations

import csv
import io

import pytest

from alerts.reports.base import ReportInputError
from alerts.reports.export import to_csv


def test_a_table_as_csv_keeps_numbers_and_defuses_formulas() -> None:
    data = {
        "failures": [
            {"channel": "sms", "error": '=HYPERLINK("x")', "attempts": 3},
            {"channel": "voice", "error": "21211", "attempts": -1},
        ]
    }
    rows = list(csv.DictReader(io.StringIO(to_csv("delivery", "failures", data))))
    assert rows == [
        {"channel": "sms", "error": '\'=HYPERLINK("x")', "attempts": "3"},
        {"channel": "voice", "error": "21211", "attempts": "-1"},
    ]


def test_an_unknown_table_names_the_known_ones() -> None:
    with pytest.raises(ReportInputError, match="outcomes, failures, time_to_first_attempt, alerts"):
        to_csv("delivery", "nothing", {})
