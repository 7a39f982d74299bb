"""Queues, agents' skills and outcomes over the JSON API: a supervisor's integration creates
the fraud queue, gives an agent the skill, changes the outcomes; the queue list shows the load
the consoles give; unknown agents and queues are refused with what to do."""

from __future__ import annotations

import httpx

from admin_ui.users import create_user
from alerts.columns import utcnow
from callcentre.models import WEEKDAYS
from callcentre.queues import set_agent_state
from callcentre.state import StoredCentre
from herald.runtime import Runtime
from tests.service.callcentre.test_agent_console import _pressed_agent


async def test_queues_skills_and_outcomes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    before = await client.get("/api/v1/callcentre/queues")
    assert [(q["key"], q["default"]) for q in before.json()] == [("general", True)]
    made = await client.put(
        "/api/v1/callcentre/queues/fraud",
        json={"name": "Fraud", "priority": 80, "target_answer_seconds": 30},
    )
    assert made.status_code == 200, made.text
    bad = await client.put("/api/v1/callcentre/queues/Fraud!", json={"name": "x"})
    assert bad.status_code == 422

    async with runtime.deps.sessions() as session:
        user = await create_user(
            session=session, username="fiona", password="correct horse battery", role="agent"
        )
    refused = await client.put(
        "/api/v1/callcentre/agents/fiona/skills", json={"queues": ["fraud", "travel"]}
    )
    assert refused.status_code == 422 and "no such queue: travel" in refused.text
    nobody = await client.put("/api/v1/callcentre/agents/nobody/skills", json={"queues": []})
    assert nobody.status_code == 404
    given = await client.put("/api/v1/callcentre/agents/fiona/skills", json={"queues": ["fraud"]})
    assert given.json() == {"queues": ["fraud"]}

    await _pressed_agent(runtime.deps, "C-1", "fraud")
    async with runtime.deps.sessions() as session:
        await set_agent_state(
            session=session, user_id=user.id or 0, state="available", now=utcnow()
        )
    queues = {q["key"]: q for q in (await client.get("/api/v1/callcentre/queues")).json()}
    assert list(queues) == ["fraud", "general"]  # highest priority first
    assert (queues["fraud"]["agents_available"], queues["fraud"]["waiting"]) == (1, 1)
    assert queues["general"]["waiting"] == 0

    outcomes = (await client.get("/api/v1/callcentre/outcomes")).json()
    assert {"key": "fraud_confirmed", "label": "Fraud confirmed", "active": True} in outcomes
    changed = await client.put(
        "/api/v1/callcentre/outcomes",
        json=[
            {"key": "resolved", "label": "Resolved"},
            {"key": "travel_rebooked", "label": "Travel rebooked"},
        ],
    )
    assert changed.status_code == 200
    active = [o["key"] for o in changed.json() if o["active"]]
    assert active == ["resolved", "travel_rebooked"]
    assert any(o["key"] == "fraud_confirmed" and not o["active"] for o in changed.json())


async def test_a_queue_of_a_second_centre_follows_that_centres_hours(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    closed = await client.put("/api/v1/callcentre/hours", json={"timezone": "UTC", "weekly": {}})
    assert closed.status_code == 200
    always = {"timezone": "UTC", "weekly": {d: ["00:00-24:00"] for d in WEEKDAYS}}
    night = await client.put(
        "/api/v1/callcentre/centres/night", json={"name": "Night desk", "hours": always}
    )
    assert night.status_code == 200, night.text
    nowhere = await client.put(
        "/api/v1/callcentre/queues/fraud", json={"name": "Fraud", "centre": "moon"}
    )
    assert nowhere.status_code == 422 and "no such centre: moon" in nowhere.text
    made = await client.put(
        "/api/v1/callcentre/queues/fraud", json={"name": "Fraud", "centre": "night"}
    )
    assert made.status_code == 200
    centres = {c["key"]: c for c in (await client.get("/api/v1/callcentre/centres")).json()}
    assert centres["night"]["queues"] == ["fraud"] and centres["main"]["first"] is True
    queues = {q["key"]: q for q in (await client.get("/api/v1/callcentre/queues")).json()}
    assert queues["fraud"]["centre"] == "night" and queues["general"]["centre"] == "main"
    async with runtime.deps.sessions() as session:
        centre = StoredCentre()
        assert (await centre.view(session, utcnow())).open is False  # main: closed all week
        assert (await centre.view(session, utcnow(), queue="fraud")).open is True
        assert (await centre.view(session, utcnow(), queue="general")).open is False
