"""A hand-off is created once per answer, with everything the agent needs on screen."""

from __future__ import annotations

from sqlmodel import select

from alerts.columns import utcnow
from alerts.models import HandOff, Response
from alerts.responses.handoffs import build_context, hand_off
from tests.service.alerts.responses.conftest import Sent


async def test_one_handoff_per_answer_with_the_customer_alert_and_event(sent: Sent) -> None:
    async with sent.deps.sessions() as session:
        response = Response(
            dedupe_key="sms:SMx",
            alert_id=sent.alert_id,
            attempt_id=sent.sms,
            customer_id=sent.customer_id,
            channel="sms",
            key="call me",
            intent="unknown",
            text="call me after 6",
            created_at=utcnow(),
        )
        session.add(response)
        await session.flush()
        first = await hand_off(session=session, response=response, kind="callback", now=utcnow())
        again = await hand_off(session=session, response=response, kind="task", now=utcnow())
        context = await build_context(session=session, response=response)
        await session.commit()
        rows = (await session.exec(select(HandOff))).all()
    assert first.id == again.id and len(rows) == 1 and rows[0].kind == "callback"
    assert context.answer.text == "call me after 6"
    assert context.customer is not None and context.customer.ref == "C-1"
    assert context.alert is not None and context.alert.id == sent.alert_id
    assert context.event is not None and context.event.amount == "750.00"
    assert rows[0].context == context.dump()
