"""Provider errors are classified once, in channels/: retry later, contact problem,
configuration error or permanent; alerts/ never reads a provider's error code."""

from __future__ import annotations

import aiohttp
import aiosmtplib
import pytest
from twilio.base.exceptions import TwilioRestException

from channels.base import (
    ConfigurationChannelError,
    Failure,
    PermanentChannelError,
    TransientChannelError,
    failure_of,
)
from channels.email_smtp import classify_smtp, smtp_contact_problem
from channels.twilio_common import classify
from channels.twilio_sms import TwilioSmsChannel
from channels.twilio_voice import TwilioVoiceChannel


def twilio(status: int, code: int | None = None) -> TwilioRestException:
    return TwilioRestException(status, "https://api.twilio.test/Messages.json", "msg", code)


@pytest.mark.parametrize(
    ("status", "code", "kind", "failure", "ambiguous", "problem"),
    [
        (401, 20003, "sms", Failure.CONFIGURATION, None, None),  # bad credentials
        (403, 20005, "voice", Failure.CONFIGURATION, None, None),  # suspended account
        (429, 20429, "sms", Failure.RETRY_LATER, False, None),  # rate limited: refused
        (500, None, "sms", Failure.RETRY_LATER, True, None),  # may have been created
        (503, None, "voice", Failure.RETRY_LATER, True, None),
        (400, 21211, "sms", Failure.CONTACT_PROBLEM, None, "invalid_address"),
        (400, 21211, "voice", Failure.CONTACT_PROBLEM, None, "invalid_address"),
        (400, 21614, "sms", Failure.CONTACT_PROBLEM, None, "landline"),
        (400, 21614, "voice", Failure.PERMANENT, None, None),  # a landline can take a call
        (400, 21610, "sms", Failure.CONTACT_PROBLEM, None, "carrier_opt_out"),
        (400, 21608, "sms", Failure.PERMANENT, None, None),  # some other refusal
    ],
)
def test_twilio_errors(
    status: int,
    code: int | None,
    kind: str,
    failure: Failure,
    ambiguous: bool | None,
    problem: str | None,
) -> None:
    error = classify(twilio(status, code), action="sending", kind=kind)
    assert failure_of(error) is failure
    assert error.contact_problem == problem
    if ambiguous is not None:
        assert isinstance(error, TransientChannelError) and error.ambiguous is ambiguous
    if failure is Failure.CONFIGURATION:
        assert isinstance(error, ConfigurationChannelError)


def test_network_errors_say_whether_twilio_may_have_accepted() -> None:
    refused = classify(ConnectionRefusedError(), action="sending", kind="sms")
    timeout = classify(TimeoutError(), action="sending", kind="sms")
    dropped = classify(aiohttp.ServerDisconnectedError(), action="sending", kind="sms")
    assert isinstance(refused, TransientChannelError) and not refused.ambiguous
    assert isinstance(timeout, TransientChannelError) and timeout.ambiguous
    assert isinstance(dropped, TransientChannelError) and dropped.ambiguous


@pytest.mark.parametrize(
    ("code", "sms", "voice"),
    [
        ("30006", "landline", None),
        ("21610", "carrier_opt_out", None),
        ("30005", "invalid_address", "invalid_address"),
        ("30008", None, None),
    ],
)
def test_status_callbacks_carry_what_the_code_says_about_the_number(
    code: str, sms: str | None, voice: str | None
) -> None:
    """The callback's ErrorCode is classified by the channel (it used to be stored as words,
    'Twilio 30006: ...', and then looked up as a bare code, so it never flagged anything)."""
    texted = TwilioSmsChannel.parse_status(
        None,  # type: ignore[arg-type]
        {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": code},
    )
    called = TwilioVoiceChannel.parse_status(
        None,  # type: ignore[arg-type]
        {"CallSid": "CA1", "CallStatus": "failed", "ErrorCode": code},
    )
    assert (texted.contact_problem, called.contact_problem) == (sms, voice)
    assert texted.error_code is not None and code in texted.error_code


def test_smtp_errors() -> None:
    login = classify_smtp(aiosmtplib.SMTPAuthenticationError(535, "bad login"), to="a@b.example")
    assert failure_of(login) is Failure.CONFIGURATION
    unknown = classify_smtp(
        aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(550, "5.1.1 user unknown", "ann.smith@b.example")]
        ),
        to="ann.smith@b.example",
    )
    assert failure_of(unknown) is Failure.CONTACT_PROBLEM
    assert "ann.smith@b.example" not in str(unknown)  # the address is masked in the message
    full = classify_smtp(aiosmtplib.SMTPResponseException(552, "mailbox full"), to="x@y.example")
    assert isinstance(full, PermanentChannelError) and failure_of(full) is Failure.PERMANENT
    busy = classify_smtp(aiosmtplib.SMTPResponseException(451, "try later"), to="x@y.example")
    assert failure_of(busy) is Failure.RETRY_LATER
    assert smtp_contact_problem("5.1.2") == "invalid_address"
    assert smtp_contact_problem("5.2.2") is None
