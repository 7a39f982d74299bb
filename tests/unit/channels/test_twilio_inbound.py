"""What the Twilio channels read from a webhook (keys, answered-by, the parent call of a
dialled leg, how a transfer ended) and how they answer it."""

from __future__ import annotations

import pytest
from lxml import etree

from channels.base import AnsweringChannel, answering
from channels.email_smtp import SmtpEmailChannel
from channels.failover import FailoverChannel
from channels.scripts import EndCall, Speak, TextReply, VoiceScript
from channels.twilio_common import TwilioAccount
from channels.twilio_sms import TwilioSmsChannel
from channels.twilio_voice import TwilioVoiceChannel

CUSTOMER, HERALD = "+15550001111", "+15550000000"


def account(sid: str = "AC" + "0" * 32) -> TwilioAccount:
    return TwilioAccount(
        account_sid=sid, auth_token="t", api_base="http://127.0.0.1:9", from_number=HERALD
    )


VOICE = TwilioVoiceChannel(account())
SMS = TwilioSmsChannel(account())


def test_a_keypress_is_the_digits_of_the_customers_call() -> None:
    inbound = VOICE.parse_inbound(
        {"CallSid": "CA1", "From": HERALD, "To": CUSTOMER, "Digits": "1430", "FinishedOnKey": "#"}
    )
    assert (inbound.provider_sid, inbound.digits, inbound.body) == ("CA1", "1430", "1430")
    assert (inbound.from_address, inbound.to_address) == (CUSTOMER, HERALD)
    assert inbound.parent_sid is None and inbound.transfer is None and inbound.answered_by is None


def test_a_voicemail_and_a_dialled_leg_are_told_apart() -> None:
    machine = VOICE.parse_inbound({"CallSid": "CA1", "AnsweredBy": "machine_start"})
    assert machine.answered_by == "machine_start" and machine.digits == ""
    leg = VOICE.parse_inbound({"CallSid": "CA2", "ParentCallSid": "CA1"})
    assert (leg.provider_sid, leg.parent_sid) == ("CA2", "CA1")


@pytest.mark.parametrize(
    "params,ended",
    [
        ({"DialCallStatus": "completed", "DialCallDuration": "42"}, "talked"),
        ({"DialCallStatus": "answered"}, "talked"),
        ({"DialCallStatus": "busy"}, "unanswered"),
        ({"DialCallStatus": "no-answer"}, "unanswered"),
        ({"DialCallStatus": "failed"}, "failed"),
        ({"DialCallStatus": "canceled"}, "abandoned"),
        ({"QueueResult": "bridged"}, "talked"),
        ({"QueueResult": "hangup"}, "abandoned"),
        ({"QueueResult": "queue-full"}, "failed"),
        ({"QueueResult": "something-new"}, None),
        ({}, None),
    ],
)
def test_how_a_transfer_ended(params: dict[str, str], ended: str | None) -> None:
    assert VOICE.parse_inbound({"CallSid": "CA1", **params}).transfer == ended


def test_an_sms_reply_is_its_trimmed_text() -> None:
    inbound = SMS.parse_inbound(
        {"MessageSid": "SM1", "From": CUSTOMER, "To": HERALD, "Body": "  1 \n"}
    )
    assert (inbound.provider_sid, inbound.text, inbound.digits) == ("SM1", "1", "")
    assert (inbound.from_address, inbound.to_address) == (CUSTOMER, HERALD)


def test_the_channels_render_their_own_replies() -> None:
    spoken = VOICE.reply(VoiceScript.of(Speak("Goodbye.", "Polly.Amy", "en-GB"), EndCall()))
    assert [el.tag for el in etree.fromstring(spoken.body.encode())] == ["Say", "Hangup"]
    texted = SMS.reply(TextReply(("Thank you.",)))
    assert etree.fromstring(texted.body.encode())[0].text == "Thank you."
    assert spoken.media_type == texted.media_type == "application/xml"
    assert VOICE.signature_header == SMS.signature_header == "X-Twilio-Signature"


def test_a_failover_group_answers_as_its_first_provider() -> None:
    first, second = TwilioVoiceChannel(account()), TwilioVoiceChannel(account("AC" + "1" * 32))
    group = FailoverChannel([first, second])
    assert answering(group) is first
    assert answering(VOICE) is VOICE and isinstance(VOICE, AnsweringChannel)


def test_email_takes_no_answers_on_webhooks() -> None:
    email = SmtpEmailChannel(host="127.0.0.1", port=25, from_address="herald@example.com")
    with pytest.raises(TypeError, match="cannot take answers"):
        answering(email)
