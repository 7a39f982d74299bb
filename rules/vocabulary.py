"""The stable words the rules speak: channels, intents, categories, outcomes (stored keys)."""

from __future__ import annotations

from typing import Final, Literal, get_args

Channel = Literal["voice", "sms", "email"]
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)

ContactKind = Literal["phone", "email"]
# The kind of contact point each channel needs.
CONTACT_KIND: Final[dict[Channel, ContactKind]] = {
    "voice": "phone",
    "sms": "phone",
    "email": "email",
}

Category = Literal["service", "marketing"]

Intent = Literal[
    "agent", "confirm", "repeat", "callback", "sms_copy", "email_copy", "opt_out", "transaction"
]
INTENTS: Final[tuple[Intent, ...]] = get_args(Intent)
# What each does, in an administrator's words (the studio's option editor).
INTENT_WORDS: Final[dict[Intent, str]] = {
    "agent": "Put through to an agent",
    "confirm": "Confirm (it was me / noted)",
    "repeat": "Repeat the message",
    "callback": "Ask for a call back",
    "sms_copy": "Text me a copy",
    "email_copy": "Email me a copy",
    "opt_out": "Stop these alerts (opt out)",
    "transaction": "Do a transaction in the back office",
}

# What the centre linkage does to an alert that offers an agent when the centre is closed or
# overloaded.
CentreChoice = Literal["hold", "callback_instead", "send_unchanged"]

# Attempt outcomes an administrator may ask to retry on the same channel or to fall back on.
PolicyOutcome = Literal["no_answer", "busy", "voicemail", "provider_error"]
POLICY_OUTCOMES: Final[tuple[PolicyOutcome, ...]] = get_args(PolicyOutcome)

# Channels a call or text reaches a person on (the marketing legal window applies to them).
INTRUSIVE_CHANNELS: Final[frozenset[Channel]] = frozenset({"voice", "sms"})
