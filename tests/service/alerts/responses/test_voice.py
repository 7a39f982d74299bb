"""The alert's call: its script, each key, refusals of requests about another call."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlmodel import select

from alerts.alert_types.store import get_row, save_spec
from alerts.columns import utcnow
from alerts.models import AttemptEvent, DeliveryAttempt, Response
from alerts.responses import voice
from alerts.responses.matching import Mismatch
from alerts.responses.voice_script import ALREADY_ANSWERED
from channels.base import InboundMessage
from channels.scripts import AskForKeys, ContinueAt, EndCall, Speak, TransferToNumber
from tests.service.alerts.responses.conftest import Sent


async def call_sid(sent: Sent) -> str:
    async with sent.deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, sent.voice)
        assert attempt is not None and attempt.provider_sid is not None
        return attempt.provider_sid


def keys(sid: str, digits: str = "", answered_by: str | None = None) -> InboundMessage:
    return InboundMessage(
        provider_sid=sid,
        from_address="+15550001111",
        to_address="+15550000000",
        body=digits,
        digits=digits,
        answered_by=answered_by,
    )


async def test_the_call_says_the_message_and_asks_for_a_key(sent: Sent) -> None:
    script = await voice.call_script(
        deps=sent.deps,
        attempt_id=sent.voice,
        inbound=keys(await call_sid(sent)),
        n=0,
        reprompt=False,
        now=utcnow(),
    )
    ask, then = script.steps
    assert isinstance(ask, AskForKeys) and ask.action.endswith(f"/{sent.voice}/gather?n=1&tries=0")
    assert any("750.00 euros" in p.text for p in ask.prompts if isinstance(p, Speak))
    assert isinstance(then, ContinueAt) and then.url.endswith("/twiml?n=1&reprompt=1")


async def test_a_voicemail_hears_no_account_data(sent: Sent) -> None:
    script = await voice.call_script(
        deps=sent.deps,
        attempt_id=sent.voice,
        inbound=keys(await call_sid(sent), answered_by="machine_start"),
        n=0,
        reprompt=False,
        now=utcnow(),
    )
    spoken, end = script.steps
    assert isinstance(spoken, Speak) and "750" not in spoken.text and isinstance(end, EndCall)


async def test_a_key_is_recorded_once_and_agent_transfers(sent: Sent) -> None:
    sid = await call_sid(sent)
    for _ in range(2):
        script = await voice.keypress(
            deps=sent.deps,
            attempt_id=sent.voice,
            inbound=keys(sid, "1"),
            n=1,
            tries=0,
            now=utcnow(),
        )
        assert isinstance(script.steps[-1], TransferToNumber)
    async with sent.deps.sessions() as session:
        [response] = (await session.exec(select(Response))).all()
    assert response.dedupe_key == f"voice:{sid}:1" and response.intent == "agent"


async def test_a_key_after_the_answer_hears_it_is_already_in(sent: Sent) -> None:
    sid = await call_sid(sent)
    await voice.keypress(
        deps=sent.deps, attempt_id=sent.voice, inbound=keys(sid, "2"), n=1, tries=0, now=utcnow()
    )
    late = await voice.keypress(
        deps=sent.deps, attempt_id=sent.voice, inbound=keys(sid, "1"), n=2, tries=0, now=utcnow()
    )
    assert late.steps[0] == Speak(ALREADY_ANSWERED, "Polly.Amy", "en-GB")


async def test_an_invalid_key_asks_again_then_says_goodbye(sent: Sent) -> None:
    sid = await call_sid(sent)
    again = await voice.keypress(
        deps=sent.deps, attempt_id=sent.voice, inbound=keys(sid, "7"), n=1, tries=0, now=utcnow()
    )
    assert [type(s).__name__ for s in again.steps] == ["Speak", "AskForKeys", "Speak", "EndCall"]
    assert again.steps[0] == Speak("Sorry, that is not a valid choice.", "Polly.Amy", "en-GB")
    bye = await voice.keypress(
        deps=sent.deps, attempt_id=sent.voice, inbound=keys(sid, "8"), n=2, tries=2, now=utcnow()
    )
    assert bye.steps[0].text == "We did not receive an answer. Goodbye."  # type: ignore[union-attr]


async def test_a_call_not_stored_yet_is_its_attempts_but_another_attempts_is_not(
    sent: Sent,
) -> None:
    async with sent.deps.sessions() as session:
        attempt = await session.get(DeliveryAttempt, sent.voice)
        assert attempt is not None
        others = attempt.provider_sid
        attempt.provider_sid = None  # the worker has not committed the provider's answer yet
        session.add(attempt)
        await session.commit()
    script = await voice.call_script(
        deps=sent.deps,
        attempt_id=sent.voice,
        inbound=keys("CAnew"),
        n=0,
        reprompt=False,
        now=utcnow(),
    )
    assert isinstance(script.steps[0], AskForKeys)
    async with sent.deps.sessions() as session:
        sms = await session.get(DeliveryAttempt, sent.sms)
        assert sms is not None
        sms.provider_sid = others  # now some other attempt holds that call
        session.add(sms)
        await session.commit()
    with pytest.raises(Mismatch) as refused:
        await voice.keypress(
            deps=sent.deps,
            attempt_id=sent.voice,
            inbound=keys(others or "", "1"),
            n=1,
            tries=0,
            now=utcnow(),
        )
    assert refused.value.status == 409
    async with sent.deps.sessions() as session:
        [ignored] = (
            await session.exec(select(AttemptEvent).where(AttemptEvent.attempt_id == sent.voice))
        ).all()
        assert (await session.exec(select(Response))).all() == []
    assert (ignored.status, ignored.provider_status, ignored.applied) == (
        "ignored",
        "keypress",
        False,
    )


async def test_the_callback_time_belongs_to_the_calls_own_callback(sent: Sent) -> None:
    sid = await call_sid(sent)
    asked = await voice.keypress(
        deps=sent.deps, attempt_id=sent.voice, inbound=keys(sid, "5"), n=1, tries=0, now=utcnow()
    )
    [ask] = asked.steps
    assert isinstance(ask, AskForKeys) and ask.end_key == "#" and ask.submit_empty
    handoff_id = int(ask.action.rsplit("handoff=", 1)[1])
    said = await voice.callback_keyed(
        deps=sent.deps,
        attempt_id=sent.voice,
        handoff_id=handoff_id,
        inbound=keys(sid, "1430"),
        now=utcnow(),
    )
    assert said.steps[0].text.startswith("Thank you. We will call you back")  # type: ignore[union-attr]
    with pytest.raises(Mismatch) as refused:
        await voice.callback_keyed(
            deps=sent.deps,
            attempt_id=sent.voice,
            handoff_id=handoff_id + 1,
            inbound=keys(sid, "9"),
            now=utcnow(),
        )
    assert refused.value.status == 404


async def _second_chance(sent: Sent, *, silence: bool) -> list[str]:
    sid = await call_sid(sent)
    if silence:
        script = await voice.call_script(
            deps=sent.deps,
            attempt_id=sent.voice,
            inbound=keys(sid),
            n=1,
            reprompt=True,
            now=utcnow(),
        )
    else:
        script = await voice.keypress(
            deps=sent.deps,
            attempt_id=sent.voice,
            inbound=keys(sid, "7"),
            n=1,
            tries=0,
            now=utcnow(),
        )
    said = [s.text for s in script.steps if isinstance(s, Speak)]
    for step in script.steps:
        if isinstance(step, AskForKeys):
            said += [p.text for p in step.prompts if isinstance(p, Speak)]
    return said


async def test_the_second_chance_says_the_reprompt_or_else_the_menu_again(sent: Sent) -> None:
    from alerts.alert_types.store import get_spec, save_spec

    first = await voice.call_script(
        deps=sent.deps,
        attempt_id=sent.voice,
        inbound=keys(await call_sid(sent)),
        n=0,
        reprompt=False,
        now=utcnow(),
    )
    ask = first.steps[0]
    assert isinstance(ask, AskForKeys) and isinstance(ask.prompts[-1], Speak)
    menu = ask.prompts[-1].text
    assert any(menu in said for said in await _second_chance(sent, silence=True))

    async with sent.deps.sessions() as session:
        spec = await get_spec(session, "large_debit")
        assert spec is not None
        data = spec.as_json()
        data["content"]["en"]["voice"]["reprompt"] = (  # type: ignore[index, call-overload]
            "Sorry, we did not hear a key. Press 1 for {{ brand }}'s fraud team."
        )
        await save_spec(session, data, actor="test")
        await session.commit()
    silence = await _second_chance(sent, silence=True)
    assert any(t.startswith("Sorry, we did not hear a key. Press 1 for ") for t in silence)
    assert menu not in silence and "{{" not in " ".join(silence)
    wrong = await _second_chance(sent, silence=False)
    assert wrong[0] == "Sorry, that is not a valid choice."
    assert any(t.startswith("Sorry, we did not hear a key.") for t in wrong[1:])


async def test_an_alert_type_saved_during_the_call_is_heard_at_its_next_webhook(
    sent: Sent,
) -> None:
    """The call's spec comes from a per-process cache by the type's version and save time
    (alerts.alert_types.store.spec_as_saved): a save between two webhooks of one call is what
    the second one says, not the spec cached by the first."""
    sid = await call_sid(sent)

    async def reprompt() -> str:
        script = await voice.call_script(
            deps=sent.deps,
            attempt_id=sent.voice,
            inbound=keys(sid),
            n=1,
            reprompt=True,
            now=utcnow(),
        )
        ask = script.steps[0]
        assert isinstance(ask, AskForKeys)
        return " ".join(p.text for p in ask.prompts if isinstance(p, Speak))

    before = await reprompt()
    assert await reprompt() == before  # the cached spec, the same words
    async with sent.deps.sessions() as session:
        row = await get_row(session, "large_debit")
        assert row is not None
        data: dict[str, Any] = copy.deepcopy(row.spec)
        data["content"]["en"]["voice"]["reprompt"] = "Edited while you listened. Press a key."
        await save_spec(session, data, actor="test")
    assert "Edited while you listened" in await reprompt()
