"""Specs validated once per stored document and templates compiled once per text: an edited
alert type is never served from the cache, and an invalid one is still refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from alerts.alert_types.content import AlertContent, compiled
from alerts.alert_types.store import stored_spec
from rules.catalogue import default_alert_type


def test_same_document_same_spec_edited_document_new_spec() -> None:
    data: dict[str, Any] = default_alert_type("large_debit").as_json()
    first = stored_spec(data)
    assert stored_spec(dict(data)) is first  # the same stored document: validated once
    edited = {**data, "name": "Large debit (edited)", "version": data["version"] + 1}
    again = stored_spec(edited)
    assert again is not first and again.name == "Large debit (edited)"
    sms = {**data["content"]["en"]["sms"], "body": "{{ brand }}: edited {{ money }}"}
    content = {**data["content"], "en": {**data["content"]["en"], "sms": sms}}
    rendered = AlertContent(stored_spec({**data, "content": content}), "en", "sms").render(
        "body", {"brand": "Bank", "money": "€1"}
    )
    assert rendered == "Bank: edited €1"  # same version, other words: not the cached spec


def test_invalid_document_still_refused_every_time() -> None:
    data = default_alert_type("large_debit").as_json()
    broken = {**data, "fallback_locale": "xx"}
    for _ in range(2):  # a refusal is not cached as a spec
        with pytest.raises(ValidationError):
            stored_spec(broken)


def test_template_compiled_once_per_text_and_escaping() -> None:
    assert compiled("Hello {{ name }}") is compiled("Hello {{ name }}")
    assert compiled("Hello {{ name }}").render(name="<b>") == "Hello <b>"
    assert compiled("Hello {{ name }}", html=True).render(name="<b>") == "Hello &lt;b&gt;"
