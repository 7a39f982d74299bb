"""Twilio simulator control API (not Twilio's): inspect, inject inbound SMS, swap scenarios."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from channels.twilio_sim.api import SimulatorDep
from channels.twilio_sim.scenario import E164, ScenarioError, parse_scenario
from channels.twilio_sim.state import CallDebug, MessageDebug

router = APIRouter(prefix="/_sim", tags=["simulator control"])


class InboundSms(BaseModel):
    """A text a simulated recipient sends to one of Herald's numbers."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: str = Field(alias="from", pattern=E164.pattern)
    to: str = Field(pattern=E164.pattern)
    body: str


@router.get("/calls")
async def list_calls(sim: SimulatorDep) -> dict[str, list[CallDebug]]:
    """Every call with its transcript, notes, and the requests sent to Herald."""
    return {"calls": [call.debug() for call in sim.state.calls.values()]}


@router.get("/messages")
async def list_messages(sim: SimulatorDep) -> dict[str, list[MessageDebug]]:
    """Every message (outbound, inbound, TwiML replies) with the requests sent to Herald."""
    return {"messages": [message.debug() for message in sim.state.messages.values()]}


@router.post("/inbound-sms")
async def inbound_sms(sms: InboundSms, sim: SimulatorDep) -> dict[str, MessageDebug]:
    """Deliver an SMS from a recipient to Herald now; answers once Herald's webhook has replied."""
    message = await sim.receive_sms(from_=sms.from_, to=sms.to, body=sms.body)
    return {"message": message.debug()}


@router.put("/scenario", response_model=None)
async def replace_scenario(
    sim: SimulatorDep, data: dict[str, Any] = Body(...)
) -> dict[str, dict[str, object]] | JSONResponse:
    """Replace the scenario (same shape as the YAML file); calls already created keep theirs."""
    try:
        sim.scenario = parse_scenario(data, source="PUT /_sim/scenario")
    except ScenarioError as error:
        return JSONResponse({"detail": str(error)}, status_code=422)
    return {"scenario": sim.scenario.model_dump(exclude_none=True)}


@router.post("/reset")
async def reset(sim: SimulatorDep) -> dict[str, bool]:
    """Stop running simulations and forget all calls, messages and opt-outs."""
    await sim.reset()
    return {"reset": True}


@router.get("/faults")
async def faults(sim: SimulatorDep) -> dict[str, dict[str, int]]:
    """The faults injected so far (scenario.faults), by kind."""
    return {"injected": {kind: n for kind, n in sim.injected.items() if n}}


@router.get("/idle")
async def idle(sim: SimulatorDep) -> dict[str, bool]:
    """{"idle": true} when no call or message simulation is running."""
    return {"idle": sim.idle}
