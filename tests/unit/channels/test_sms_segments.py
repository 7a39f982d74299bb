"""Segment counting matches the carriers' rules (GSM-7 vs UCS-2, concatenation headers)."""

from __future__ import annotations

import pytest

from channels.sms_segments import sms_length


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters count twice
        ("€" * 81, "GSM-7", 162, 2),
        ("Zürich, Ñoño à Århus", "GSM-7", 20, 1),  # accented letters of the basic set
        ("ç" * 70, "UCS-2", 70, 1),  # lower-case ç is not in GSM-7
        ("ç" * 71, "UCS-2", 71, 2),
        ("a" * 134 + "ç", "UCS-2", 135, 3),
        ("👍" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
    ],
)
def test_lengths(text: str, encoding: str, units: int, segments: int) -> None:
    length = sms_length(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


def test_describe_names_the_character_that_forced_ucs2() -> None:
    assert "'ç'" in sms_length("Payment at Façade Ltd").describe()
