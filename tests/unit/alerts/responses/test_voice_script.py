"""Generated TwiML against golden files (HERALD_UPDATE_GOLDEN=1 rewrites them after a change)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

from alerts.alert_types.recordings import Segment
from alerts.responses import voice_script

GOLDEN = Path(__file__).resolve().parents[3] / "golden" / "twiml"
BASE = "https://herald.example.com/webhooks/twilio/voice/42"
KW = {"voice": "Polly.Amy", "language": "en-GB"}

CASES = {
    "main_menu": lambda: voice_script.main_menu(
        base=BASE,
        message="A payment of 750.00 EUR to Shop Ltd was taken.",
        prompt="Press 1 to speak to an agent.",
        n=0,
        **KW,
    ),
    "reprompt_after_silence": lambda: voice_script.reprompt(
        base=BASE, prompt="Press 1 to speak to an agent.", n=1, **KW
    ),
    "reprompt_after_invalid_key": lambda: voice_script.reprompt(
        base=BASE, prompt="Press 1 to speak to an agent.", n=1, lead=voice_script.INVALID, **KW
    ),
    "transfer": lambda: voice_script.transfer(number="+15550009999", caller_id=None, **KW),
    "transfer_with_whisper": lambda: voice_script.transfer(
        number="+15550009999", caller_id=None, whisper_url=f"{BASE}/whisper/7", **KW
    ),
    "transfer_to_queue": lambda: voice_script.transfer(
        number="+15550009999", caller_id=None, queue="card-fraud", **KW
    ),
    "whisper": lambda: voice_script.whisper(summary="Herald large debit alert for Ann.", **KW),
    "agent_dequeue": lambda: voice_script.agent_dequeue(
        queue="card-fraud", whisper_url="https://herald.example.com/webhooks/twilio/voice/wq"
    ),
    "ask_callback_time": lambda: voice_script.ask_callback_time(action=f"{BASE}/callback", **KW),
    "main_menu_with_recording": lambda: voice_script.main_menu(
        base=BASE,
        message=[
            Segment("play", "https://herald.example.com/media/recordings/t0k3n", 0, "recorded"),
            Segment("say", "A payment of 750.00 EUR to Shop Ltd was taken.", 1, "data"),
        ],
        prompt="Speak to an agent: press 1.",
        n=0,
        **KW,
    ),
    "goodbye": lambda: voice_script.goodbye(text="Thank you. Goodbye.", **KW),
    "voicemail": lambda: voice_script.voicemail(text="Please call us on +15550009999.", **KW),
    "repeat": lambda: voice_script.repeat(base=BASE, n=2),
}


def pretty(xml: str) -> str:
    return etree.tostring(etree.fromstring(xml.encode()), pretty_print=True).decode()


@pytest.mark.parametrize("name", sorted(CASES))
def test_twiml_matches_golden(name: str) -> None:
    produced = pretty(CASES[name]())
    path = GOLDEN / f"{name}.xml"
    if os.environ.get("HERALD_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(produced)
    assert path.exists(), f"no golden file {path}; run with HERALD_UPDATE_GOLDEN=1"
    assert produced == path.read_text()


def test_main_menu_reprompts_once_then_gives_up() -> None:
    main = etree.fromstring(CASES["main_menu"]().encode())
    assert main[0].tag == "Gather" and main[0].get("numDigits") == "1"
    assert main[1].tag == "Redirect" and "reprompt=1" in (main[1].text or "")
    second = etree.fromstring(CASES["reprompt_after_silence"]().encode())
    assert [el.tag for el in second] == ["Gather", "Say", "Hangup"]
    assert "tries=1" in second[0].get("action", "")
