"""The studio's services: drafts kept and checked by field, publishing as a version, the
four-eyes rule, restore and diff, SMS length, the list with volume, and the trial run."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from alerts.alert_types.drafts import (
    DraftError,
    FourEyesRefused,
    check,
    discard_draft,
    get_draft,
    new_draft,
    publish_draft,
    restore_as_draft,
    save_draft,
    set_enabled,
    start_draft,
)
from alerts.alert_types.review import diff_specs, overview, sms_report
from alerts.alert_types.store import get_row, seed_catalogue, versions
from alerts.columns import utcnow
from alerts.decisions.evaluate import evaluate_pending
from alerts.decisions.trial import trial_run
from alerts.deps import AlertDeps
from alerts.models import Alert
from channels.sms_segments import sms_length
from herald.runtime import Runtime
from rules.alert_types import AlertTypeSpec
from tests.factories import make_customer, make_event

DUTCH = "{{ brand }}: betaling {{ amount }} {{ currency }} {{ description }}. {{ options_text }}"


def _at(document: object, *path: str) -> object:
    """The value at ``path`` in stored JSON (each step a JSON object)."""
    for key in path:
        assert isinstance(document, dict), f"{key!r}: not a JSON object"
        document = document[key]
    return document


async def _spec(deps: AlertDeps, key: str = "large_debit") -> dict[str, Any]:
    async with deps.sessions() as session:
        await seed_catalogue(session)
        row = await get_row(session, key)
        assert row is not None
        return copy.deepcopy(row.spec)


def _with_dutch_sms(spec: dict[str, Any], body: str = DUTCH) -> dict[str, Any]:
    spec["content"]["nl"] = {"sms": {"body": body}}
    return spec


async def test_a_draft_is_kept_then_published_as_the_next_version(runtime: Runtime) -> None:
    deps = runtime.deps
    spec = _with_dutch_sms(await _spec(deps))
    async with deps.sessions() as session:
        before = (await get_row(session, "large_debit")).version  # type: ignore[union-attr]
        draft, problems = await save_draft(
            session=session, key="large_debit", spec=spec, actor="ann"
        )
        assert [p for p in problems if p.blocking] == []
        # The Dutch customers would get the English call and email: said, not refused.
        assert {p.field for p in problems} == {"content.nl.voice", "content.nl.email"}
        assert draft.base_version == before and draft.editors == ["ann"]
    async with deps.sessions() as session:  # kept across requests
        kept = await get_draft(session, "large_debit")
        assert kept is not None and _at(kept.spec, "content", "nl", "sms", "body") == DUTCH
        row = await get_row(session, "large_debit")
        assert row is not None
        live = _at(row.spec, "content")
        assert isinstance(live, dict)
        assert _at(row.spec, "content", "nl", "sms", "body") != DUTCH  # not live yet
        published = await publish_draft(session=session, key="large_debit", actor="bob")
        assert published.version == before + 1
        assert _at(published.spec, "content", "nl", "sms", "body") == DUTCH
        assert await get_draft(session, "large_debit") is None
        [newest, *_] = await versions(session, "large_debit")
        assert (newest.version, newest.changed_by) == (before + 1, "bob")
        assert "edited by ann" in newest.note


async def test_problems_are_tied_to_their_fields(runtime: Runtime) -> None:
    spec = await _spec(runtime.deps)
    spec["trigger"]["condition"] = "event.amount >= 500 and customer.segmnt != 'staff'"
    problems = {p.field: p for p in check(spec)}
    condition = spec["trigger"]["condition"]
    assert problems["trigger.condition"].position == condition.index("segmnt")
    assert "did you mean 'segment'" in problems["trigger.condition"].message

    spec = await _spec(runtime.deps)
    spec["content"]["en"]["sms"]["body"] = "Hello {{ customer_nam }}"
    problems = {p.field: p for p in check(spec)}
    assert "'customer_nam' is undefined" in problems["content.en.sms.body"].message

    spec = await _spec(runtime.deps)
    spec["content"]["en"]["sms"]["body"] = "{{ description }} " * 30
    [too_long] = [p for p in check(spec) if p.field == "content.en.sms.body"]
    assert "segment" in too_long.message and too_long.blocking


async def test_four_eyes_the_editor_cannot_publish(runtime: Runtime) -> None:
    deps = runtime.deps
    spec = _with_dutch_sms(await _spec(deps))
    async with deps.sessions() as session:
        await save_draft(session=session, key="large_debit", spec=spec, actor="ann")
        with pytest.raises(FourEyesRefused, match="someone else must publish"):
            await publish_draft(session=session, key="large_debit", actor="ann", four_eyes=True)
        assert await get_draft(session, "large_debit") is not None  # nothing lost
        row = await publish_draft(session=session, key="large_debit", actor="bob", four_eyes=True)
        assert row.updated_by == "bob"


async def test_a_draft_started_before_another_publish_is_refused(runtime: Runtime) -> None:
    deps = runtime.deps
    async with deps.sessions() as session:
        await seed_catalogue(session)
        await start_draft(session=session, key="large_debit", actor="ann")
        await set_enabled(session=session, key="large_debit", enabled=False, actor="bob")
        with pytest.raises(Exception, match="reload"):
            await publish_draft(session=session, key="large_debit", actor="carl")


async def test_new_copy_discard_restore_and_diff(runtime: Runtime) -> None:
    deps = runtime.deps
    async with deps.sessions() as session:
        await seed_catalogue(session)
        with pytest.raises(DraftError, match="already exists"):
            await new_draft(session=session, key="large_debit", name="X", actor="ann")
        with pytest.raises(DraftError, match="lower-case"):
            await new_draft(session=session, key="Big Refund", name="X", actor="ann")
        copied = await new_draft(
            session=session, key="big_debit", name="Big debit", actor="ann", copy_from="large_debit"
        )
        assert copied.spec["enabled"] is False and copied.spec["name"] == "Big debit"
        rows = {r.key: r for r in await overview(session=session, now=utcnow())}
        assert rows["big_debit"].status == "draft" and rows["big_debit"].deletable
        assert not rows["large_debit"].deletable
        await discard_draft(session=session, key="big_debit", actor="ann")
        assert "big_debit" not in {r.key for r in await overview(session=session, now=utcnow())}

        starter = await new_draft(session=session, key="refund", name="Refund", actor="ann")
        assert not [p for p in check(starter.spec) if p.blocking]
        published = await publish_draft(session=session, key="refund", actor="bob")
        assert published.version == 1

        first = (await get_row(session, "large_debit")).version  # type: ignore[union-attr]
        await set_enabled(session=session, key="large_debit", enabled=False, actor="bob")
        [new, old, *_] = await versions(session, "large_debit")
        lines = [line for line in diff_specs(old.spec, new.spec) if line.changed]
        assert [(x.field, x.before, x.after) for x in lines] == [("enabled", "true", "false")]
        draft = await restore_as_draft(
            session=session, key="large_debit", version=first, actor="ann"
        )
        assert draft.spec["enabled"] is True and draft.base_version == first + 1
        row = await publish_draft(session=session, key="large_debit", actor="bob")
        assert row.enabled and row.version == first + 2


def test_sms_report_counts_like_the_segment_code() -> None:
    data = AlertTypeSpec.model_validate(
        {
            "key": "x_type",
            "name": "X",
            "trigger": {"event_types": ["debit_posted"]},
            "content": {"en": {"sms": {"body": "x"}}},
            "delivery": {"channel_order": ["sms"]},
        }
    ).as_json()
    base = {"brand": "Bank", "amount": "10.00"}
    gsm = sms_report("{{ brand }}: {{ amount }} paid", spec_data=data, base=base)
    assert (gsm.text, gsm.encoding, gsm.segments) == ("Bank: 10.00 paid", "GSM-7", 1)
    assert "Only GSM characters" in gsm.cost_note
    ucs = sms_report("Betaling ✓ " + "a" * 70, spec_data=data, base=base)
    length = sms_length(ucs.text)
    assert (ucs.encoding, ucs.segments, ucs.offending) == ("UCS-2", length.segments, "✓")
    assert ucs.segments == 2 and "“✓” is not in the GSM alphabet" in ucs.cost_note
    broken = sms_report("{{ nope }}", spec_data=data, base=base)
    assert "nope" in broken.error


async def test_trial_says_which_recent_events_would_fire_and_for_whom(runtime: Runtime) -> None:
    deps = runtime.deps
    await make_customer(deps, ref="C-9", name="Ada Lovelace")
    await make_event(deps, amount="900.00", event_id="E-big")
    await make_event(deps, amount="20.00", event_id="E-small")
    await make_event(deps, amount="900.00", event_id="E-nobody", account="NL00NOBODY0000000")
    spec_data = await _spec(deps)
    spec_data["trigger"]["condition"] = "event.amount >= 800"
    spec = AlertTypeSpec.model_validate(spec_data)
    lines = await trial_run(deps=deps, spec=spec, now=utcnow())
    assert [(line.fired, line.customer) for line in lines] == [  # newest first
        (False, ""),
        (False, "Ada Lovelace (C-9)"),
        (True, "Ada Lovelace (C-9)"),
    ]
    assert any("does not hold" in line.reason for line in lines)
    async with deps.sessions() as session:  # nothing decided for real
        rows = await overview(session=session, now=utcnow())
        assert all(r.alerts_7d == 0 for r in rows)


async def test_the_list_counts_alerts_of_the_last_seven_days(runtime: Runtime) -> None:
    deps = runtime.deps
    await make_customer(deps, ref="C-9")
    await make_event(deps, amount="900.00", event_id="E-1")
    created = await evaluate_pending(deps=deps, now=utcnow())
    assert created
    async with deps.sessions() as session:
        rows = {r.key: r for r in await overview(session=session, now=utcnow())}
        assert rows["large_debit"].alerts_7d == 1 and rows["large_debit"].status == "enabled"
        later = await overview(session=session, now=utcnow() + timedelta(days=8))
        assert {r.key: r.alerts_7d for r in later}["large_debit"] == 0
        assert await session.get(Alert, created[0]) is not None
