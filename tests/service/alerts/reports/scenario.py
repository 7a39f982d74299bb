"""One hand-counted November for the reports' tests (service, API and browser tests share it).

large_debit, 2026-11-01..30: 10 events decided; 6 alerts, 4 skips (condition not met twice,
a duplicate, an opt-out). The alerts:

  1  A en retail  voice answered, pressed "it was me"        sent delivered responded resolved
  2  A en retail  voice no answer, SMS delivered, agent,     sent delivered responded routed
                  hand-off completed                         resolved
  3  B nl business SMS delivered, a late reply only          sent delivered
  4  B nl business voice refused (21211), email sent,        sent delivered responded routed
                  agent, hand-off still queued
  5  C en retail  nothing sent, expired                      (expired)
  6  C en retail  voice busy, voice again: no answer; failed sent (failed)

Outside the range: a large_debit alert on 2026-10-15 (counts nowhere). payment_received: one
alert (customer A), email sent and delivered, nobody answered.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.reports.base import DateRange
from tests.service.alerts.reports.seed import Answer, Seeder, Try, day

NOVEMBER = DateRange(day(1).date(), day(30).date())


async def seed_november(session: AsyncSession) -> Seeder:
    s = Seeder(session)
    a = await s.customer("A", locale="en", segment="retail")
    b = await s.customer("B", locale="nl", segment="business")
    c = await s.customer("C", locale="en", segment="retail")
    t = "large_debit"
    await s.alert(
        a, t, day(2), Try("voice", "completed", after=10), answers=(Answer("confirm", after=40),)
    )
    await s.alert(
        a,
        t,
        day(3),
        Try("voice", "no_answer", after=20),
        Try("sms", "delivered", after=320),
        answers=(Answer("agent", channel="sms", after=300, handoff="completed"),),
    )
    await s.alert(
        b, t, day(4), Try("sms", "delivered", after=5), answers=(Answer("late", channel="sms"),)
    )
    await s.alert(
        b,
        t,
        day(5),
        Try("voice", "failed", sent=False, error="21211", after=15),
        Try("email", "sent", after=45),
        answers=(Answer("agent", channel="email", after=3600, handoff="queued"),),
        provider_retries=2,
    )
    await s.alert(c, t, day(6), status="expired")
    await s.alert(
        c,
        t,
        day(7),
        Try("voice", "busy", after=25),
        Try("voice", "no_answer", after=625),
        status="failed",
    )
    await s.skip(a, t, day(8), "does not hold (event.amount = 12.00 >= 250)")
    await s.skip(b, t, day(8), "does not hold (event.amount = 40.00 >= 250)")
    await s.skip(
        c, t, day(9), "duplicate of the alert 'x' raised 2026-11-09, within the 1 h window"
    )
    await s.skip(b, t, day(9), "the customer opted out of large_debit")
    await s.alert(a, t, day(15, month=10), Try("voice", "completed"))
    await s.alert(a, "payment_received", day(10), Try("email", "sent", after=8))
    await session.commit()
    return s
