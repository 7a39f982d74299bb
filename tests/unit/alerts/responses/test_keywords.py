"""Carrier keywords: which texts are STOP / START / HELP, and the one confirmation each gets."""

from __future__ import annotations

import pytest

from alerts.responses.keywords import keyword_of, reply_for


@pytest.mark.parametrize(
    "body,keyword",
    [
        ("STOP", "stop"),
        (" stop. ", "stop"),
        ("Unsubscribe!", "stop"),
        ("start", "start"),
        ("YES", "start"),
        ("help", "help"),
        ("stop calling me", None),
        ("1", None),
    ],
)
def test_only_a_whole_message_is_a_keyword(body: str, keyword: str | None) -> None:
    assert keyword_of(body) == keyword


def test_a_confirmation_only_when_something_changed_but_help_always() -> None:
    kw = {"brand": "Herald Bank", "callcentre_number": "+15550009999"}
    assert reply_for("stop", changed=False, **kw) is None
    assert "no more texts" in (reply_for("stop", changed=True, **kw) or "")
    assert "back on" in (reply_for("start", changed=True, **kw) or "")
    assert "+15550009999" in (reply_for("help", changed=False, **kw) or "")
