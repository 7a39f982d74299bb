"""What a call says, as provider-neutral steps (their TwiML: tests/unit/channels/test_twiml.py)."""

from __future__ import annotations

from alerts.alert_types.recordings import Segment
from alerts.deps import Tts
from alerts.responses import voice_script
from channels.scripts import (
    AskForKeys,
    ContinueAt,
    EndCall,
    PlayAudio,
    Speak,
    TransferToNumber,
    WaitInQueue,
)

BASE = "https://herald.example.com/webhooks/twilio/voice/42"
TTS = Tts("Polly.Lotte", "nl-NL")


def test_the_menu_listens_while_the_message_plays_then_prompts_once_more() -> None:
    script = voice_script.main_menu(
        base=BASE,
        message=[
            Segment("play", "https://h/m/1", 0, "recorded"),
            Segment("say", "Hallo", 1, "data"),
        ],
        prompt="Druk 1.",
        n=2,
        tts=TTS,
    )
    ask, then = script.steps
    assert isinstance(ask, AskForKeys) and ask.action == f"{BASE}/gather?n=3&tries=0"
    assert ask.prompts == (
        PlayAudio("https://h/m/1"),
        Speak("Hallo", "Polly.Lotte", "nl-NL"),
        Speak("Druk 1.", "Polly.Lotte", "nl-NL"),
    )
    assert then == ContinueAt(f"{BASE}/twiml?n=3&reprompt=1")


def test_a_reprompt_after_an_invalid_key_counts_it_and_ends_on_silence() -> None:
    script = voice_script.reprompt(
        base=BASE, prompt="Druk 1.", n=1, tts=TTS, lead=voice_script.INVALID, tries=2
    )
    lead, ask, bye, end = script.steps
    # Herald's own lines in the language of the Dutch voice
    assert lead == Speak("Sorry, dat is geen geldige keuze.", "Polly.Lotte", "nl-NL")
    assert isinstance(ask, AskForKeys) and ask.action.endswith("tries=2")
    bye_nl = "Wij hebben geen antwoord ontvangen. Tot ziens."
    assert bye == Speak(bye_nl, "Polly.Lotte", "nl-NL") and end == EndCall()


def test_a_transfer_dials_or_queues() -> None:
    dialled = voice_script.transfer(number="+1555", tts=TTS, whisper_url="w", done_url="d")
    assert dialled.steps[1] == TransferToNumber("+1555", whisper_url="w", done_url="d")
    queued = voice_script.transfer(number="+1555", tts=TTS, queue="fraud", done_url="d")
    assert queued.steps[1] == WaitInQueue("fraud", done_url="d")
