"""Signed links: each kind has its own salt and lifetime."""

from __future__ import annotations

import time

import pytest

from alerts.links import LinkError, LinkSigner, ResponseLink, address_tag

DAY = 86400


def later(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    now = time.time() + days * DAY
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: now)


def test_unsubscribe_links_outlive_answer_links(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = LinkSigner("secret")
    answer = signer.sign(ResponseLink(attempt_id=5, option="confirm"))
    unsubscribe = signer.sign_unsubscribe(5)
    later(monkeypatch, 60)
    with pytest.raises(LinkError, match="expired"):
        signer.load(answer)
    assert signer.load_unsubscribe(unsubscribe) == 5
    later(monkeypatch, 800)
    with pytest.raises(LinkError):
        signer.load_unsubscribe(unsubscribe)


def test_one_kind_of_token_is_not_accepted_as_another() -> None:
    signer = LinkSigner("secret")
    with pytest.raises(LinkError):
        signer.load_unsubscribe(signer.sign_preferences(5))
    with pytest.raises(LinkError):
        signer.load_preferences(signer.sign_unsubscribe(5))
    with pytest.raises(LinkError):
        signer.load_consent(signer.sign_preferences(5))


def test_consent_links_are_bound_to_the_address() -> None:
    signer = LinkSigner("secret")
    contact_id, tag = signer.load_consent(signer.sign_consent(9, "Ann@Example.com"))
    assert contact_id == 9 and tag == address_tag("ann@example.com") != address_tag("b@x.com")
