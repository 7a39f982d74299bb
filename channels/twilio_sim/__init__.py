"""Twilio simulator: Twilio's Calls/Messages API and webhooks, driven by scripted recipients."""

from channels.twilio_sim.scenario import (
    ApiError,
    Behaviour,
    Recipient,
    Scenario,
    ScenarioError,
    SimulatorConfig,
    SmsBehaviour,
    VoiceBehaviour,
    load_scenario,
    parse_scenario,
)
from channels.twilio_sim.server import (
    LoopbackServer,
    ServerStartError,
    SimulatorServer,
    create_app,
    serve,
)
from channels.twilio_sim.simulation import Simulator
from channels.twilio_sim.state import CallRecord, MessageRecord, SentRequest, SimState

__all__ = [
    "ApiError",
    "Behaviour",
    "CallRecord",
    "LoopbackServer",
    "MessageRecord",
    "Recipient",
    "Scenario",
    "ScenarioError",
    "SentRequest",
    "ServerStartError",
    "SimState",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "SmsBehaviour",
    "VoiceBehaviour",
    "create_app",
    "load_scenario",
    "parse_scenario",
    "serve",
]
