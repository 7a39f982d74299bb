"""Herald's voice scripts rendered as TwiML, against golden files (HERALD_UPDATE_GOLDEN=1
rewrites them after a deliberate change), and the SMS replies."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from alerts.alert_types.recordings import Segment
from alerts.deps import DEFAULT_VOICES, AlertDeps, Tts
from alerts.responses import voice_script
from channels import twiml
from channels.scripts import EndCall, Speak, TextReply, VoiceScript

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "twiml"
BASE = "https://herald.example.com/webhooks/twilio/voice/42"
TTS = Tts("Polly.Amy", "en-GB")

CASES: dict[str, Callable[[], VoiceScript]] = {
    "main_menu": lambda: voice_script.main_menu(
        base=BASE,
        message="A payment of 750.00 EUR to Shop Ltd was taken.",
        prompt="Press 1 to speak to an agent.",
        n=0,
        tts=TTS,
    ),
    "reprompt_after_silence": lambda: voice_script.reprompt(
        base=BASE, prompt="Press 1 to speak to an agent.", n=1, tts=TTS
    ),
    "reprompt_after_invalid_key": lambda: voice_script.reprompt(
        base=BASE, prompt="Press 1 to speak to an agent.", n=1, lead=voice_script.INVALID, tts=TTS
    ),
    "transfer": lambda: voice_script.transfer(number="+15550009999", tts=TTS),
    "transfer_with_whisper": lambda: voice_script.transfer(
        number="+15550009999", whisper_url=f"{BASE}/whisper/7", tts=TTS
    ),
    "transfer_to_queue": lambda: voice_script.transfer(
        number="+15550009999", queue="card-fraud", tts=TTS
    ),
    "transfer_reporting_its_end": lambda: voice_script.transfer(
        number="+15550009999",
        whisper_url=f"{BASE}/whisper/7",
        done_url="https://herald.example.com/webhooks/twilio/voice/transfer/7/done",
        tts=TTS,
    ),
    "transfer_to_queue_reporting_its_end": lambda: voice_script.transfer(
        number="+15550009999",
        queue="card-fraud",
        done_url="https://herald.example.com/webhooks/twilio/voice/transfer/7/done",
        tts=TTS,
    ),
    "whisper": lambda: voice_script.whisper(summary="Herald large debit alert for Ann.", tts=TTS),
    "agent_dequeue": lambda: voice_script.agent_dequeue(
        queue="card-fraud", whisper_url="https://herald.example.com/webhooks/twilio/voice/wq"
    ),
    "ask_callback_time": lambda: voice_script.ask_callback_time(action=f"{BASE}/callback", tts=TTS),
    "main_menu_with_recording": lambda: voice_script.main_menu(
        base=BASE,
        message=[
            Segment("play", "https://herald.example.com/media/recordings/t0k3n", 0, "recorded"),
            Segment("say", "A payment of 750.00 EUR to Shop Ltd was taken.", 1, "data"),
        ],
        prompt="Speak to an agent: press 1.",
        n=0,
        tts=TTS,
    ),
    "goodbye": lambda: voice_script.goodbye(text="Thank you. Goodbye.", tts=TTS),
    "voicemail": lambda: voice_script.voicemail(text="Please call us on +15550009999.", tts=TTS),
    "repeat": lambda: voice_script.repeat(base=BASE, n=2),
}


def pretty(xml: str) -> str:
    return etree.tostring(etree.fromstring(xml.encode()), pretty_print=True).decode()


def rendered(name: str) -> str:
    reply = twiml.render(CASES[name]())
    assert reply.media_type == "application/xml"
    return reply.body


@pytest.mark.parametrize("name", sorted(CASES))
def test_twiml_matches_golden(name: str) -> None:
    produced = pretty(rendered(name))
    path = GOLDEN / f"{name}.xml"
    if os.environ.get("HERALD_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(produced)
    assert path.exists(), f"no golden file {path}; run with HERALD_UPDATE_GOLDEN=1"
    assert produced == path.read_text()


def test_main_menu_reprompts_once_then_gives_up() -> None:
    main = etree.fromstring(rendered("main_menu").encode())
    assert main[0].tag == "Gather" and main[0].get("numDigits") == "1"
    assert main[1].tag == "Redirect" and "reprompt=1" in (main[1].text or "")
    second = etree.fromstring(rendered("reprompt_after_silence").encode())
    assert [el.tag for el in second] == ["Gather", "Say", "Hangup"]
    assert "tries=1" in second[0].get("action", "")


def test_a_transfer_reports_its_end_to_the_done_url() -> None:
    dial = etree.fromstring(rendered("transfer_reporting_its_end").encode())[1]
    assert dial.tag == "Dial" and dial.get("action", "").endswith("/transfer/7/done")
    assert dial.get("method") == "POST"
    enqueue = etree.fromstring(rendered("transfer_to_queue_reporting_its_end").encode())[1]
    assert enqueue.tag == "Enqueue" and enqueue.get("action", "").endswith("/transfer/7/done")


def test_sms_replies_are_messages_and_none_is_an_empty_answer() -> None:
    two = etree.fromstring(twiml.render(TextReply(("Thank you.", "Reply STOP"))).body.encode())
    assert [(m.tag, m.text) for m in two] == [("Message", "Thank you."), ("Message", "Reply STOP")]
    assert len(etree.fromstring(twiml.render(TextReply()).body.encode())) == 0


def test_speech_is_escaped_not_markup() -> None:
    script = VoiceScript.of(Speak("Tom & Jerry <Hangup/>", "Polly.Amy", "en-GB"), EndCall())
    doc = etree.fromstring(twiml.render(script).body.encode())
    assert [el.tag for el in doc] == ["Say", "Hangup"] and doc[0].text == "Tom & Jerry <Hangup/>"


def test_a_french_customers_system_prompts_are_french_twiml_with_the_french_voice() -> None:
    """The voice follows the customer's locale (fr-BE -> the French voice, the existing TTS
    rule) and Herald's own lines follow the voice, so Twilio reads French with a French voice."""
    deps = AlertDeps.__new__(AlertDeps)
    deps.voices = dict(DEFAULT_VOICES)
    tts = deps.tts("fr-BE")
    scripts = [
        voice_script.reprompt(base=BASE, prompt="…", n=1, tts=tts, lead=voice_script.INVALID),
        voice_script.transfer(number="+15550009999", tts=tts),
        voice_script.ask_callback_time(action=f"{BASE}/callback", tts=tts),
    ]
    says = [
        say
        for script in scripts
        for say in etree.fromstring(twiml.voice_twiml(script).encode()).iter("Say")
    ]
    spoken = [say.text for say in says]
    assert {(say.get("voice"), say.get("language")) for say in says} == {("Polly.Celine", "fr-FR")}
    assert "Désolé, ce choix n'est pas valide." in spoken
    assert "Nous n'avons pas reçu de réponse. Au revoir." in spoken
    assert "Nous vous mettons en relation avec un conseiller. Veuillez patienter." in spoken
    assert any(text and text.startswith("Nous allons vous rappeler.") for text in spoken)
