"""What the studio shows about alert types: the list with status and volume, SMS length, the
preview of each channel as sent, and the difference between two versions.

Rendering is ``alerts.alert_types.content`` (the code that renders what is sent), SMS length is
``channels.sms_segments`` (what carriers bill) and the voice message's segments are
``alerts.alert_types.recordings`` (what the call plays or speaks): nothing here counts, renders
or splits a second way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.content import (
    SAMPLE_LINK,
    AlertContent,
    ContentError,
    channel_options,
    long_sample_context,
    render_context,
    render_template,
)
from alerts.alert_types.drafts import list_drafts
from alerts.alert_types.recordings import (
    is_current,
    plan_segments,
    recordings_for,
    segment_renderer,
    split_segments,
    voice_message,
)
from alerts.alert_types.store import list_rows
from alerts.models import Alert
from channels.sms_segments import sms_length
from rules.alert_types import AlertTypeSpec
from rules.vocabulary import Channel

VOLUME_DAYS = 7
SPOKEN = "always spoken by text-to-speech"

# What a template may use, in the administrator's words (the alert context of
# alerts.decisions.evaluate.alert_context, plus what delivery adds).
PLACEHOLDERS: dict[str, str] = {
    "customer_name": "customer's name",
    "money": "amount with its currency, as the language writes it",
    "booking_day": "booking date, written out in the language",
    "amount": "amount of the event",
    "currency": "currency (EUR, ...)",
    "description": "merchant or reference of the event",
    "account_ending": "last four digits of the account",
    "booking_date": "booking date of the event",
    "brand": "our brand name",
    "callcentre_number": "call centre's phone number",
    "options_text": "SMS: “Reply 1 ..., 2 ...” from the answers",
    "options_prompt": "voice: “... press 1.” from the answers",
    "options_links": "email: the answer links or buttons",
    "link_preferences": "customer's preferences link",
}

# The fields the bank-file adapters put in an event's ``data`` (xml_adapters' mappings; see
# docs/mappings.md), in the administrator's words. A template reads one as ``{{ data.NAME }}``
# (empty when the event has none), a condition as ``event.data&["NAME"]`` (null when absent).
FILE_FIELDS: dict[str, str] = {
    "counterparty": "who paid or was paid",
    "counterparty_bic": "the other bank's BIC",
    "counterparty_address": "the other party's address",
    "counterparty_town": "the other party's town",
    "counterparty_country": "the other party's country",
    "remittance_reference": "payment reference (structured, e.g. RF…)",
    "remittance_reference_type": "kind of payment reference (SCOR, …)",
    "return_reason": "reason code of a returned payment (MD06, AC04, …)",
    "return_info": "bank's words on a returned payment",
    "charges_amount": "charges taken",
    "charges_currency": "currency of the charges",
    "instructed_amount": "amount as instructed (before conversion)",
    "instructed_currency": "currency as instructed",
    "exchange_rate": "exchange rate applied",
    "mandate_id": "direct debit mandate",
    "creditor_identifier": "direct debit creditor id",
    "end_to_end_id": "payer's end-to-end reference",
    "transaction_id": "transaction id",
    "instruction_id": "instruction id",
    "payment_information_id": "payment information id",
    "uetr": "SWIFT UETR (payment tracking id)",
    "transaction_bank_transaction_code": "bank's transaction code (PMNT/…)",
    "batch_role": "entry or one transaction of a batch",
    "batch_count": "transactions in the batch",
    "batch_total": "total of the batch",
}

# What the studio's preview shows for each (an event's own values replace them in a trial).
FILE_EXAMPLES: dict[str, str] = {
    "counterparty": "Power Co",
    "counterparty_bic": "MARKDEFFXXX",
    "counterparty_address": "Hauptstr. 1, 10115 Berlin",
    "counterparty_town": "Berlin",
    "counterparty_country": "DE",
    "remittance_reference": "RF18539007547034",
    "remittance_reference_type": "SCOR",
    "return_reason": "MD06",
    "return_info": "Refund requested by the payer",
    "charges_amount": "2.50",
    "charges_currency": "EUR",
    "instructed_amount": "120.00",
    "instructed_currency": "USD",
    "exchange_rate": "0.9",
    "mandate_id": "MANDATE-9",
    "creditor_identifier": "DE98ZZZ09999999999",
    "end_to_end_id": "E2E-1",
    "transaction_id": "TX-1",
    "instruction_id": "INS-1",
    "payment_information_id": "PMT-1",
    "uetr": "7b4a5e4e-5d2f-4c1e-9a3b-2f1d3c4b5a69",
    "transaction_bank_transaction_code": "PMNT/RDDT/ESDD",
    "batch_role": "transaction",
    "batch_count": "3",
    "batch_total": "360.00",
}


@dataclass(frozen=True, slots=True)
class TypeRow:
    """One line of the studio's list of alert types."""

    key: str
    name: str
    status: str  # "enabled" | "disabled" | "draft" (never published)
    version: int  # 0 for a draft never published
    has_draft: bool
    updated_at: datetime
    updated_by: str
    alerts_7d: int

    @property
    def deletable(self) -> bool:
        """Only a draft that was never published may be deleted."""
        return self.status == "draft"


async def overview(*, session: AsyncSession, now: datetime) -> list[TypeRow]:
    """Every alert type (published or only drafted) with its alerts of the last seven days."""
    since = now - timedelta(days=VOLUME_DAYS)
    counts = dict(
        (
            await session.exec(
                select(Alert.alert_type, func.count())
                .where(col(Alert.created_at) >= since)
                .group_by(col(Alert.alert_type))
            )
        ).all()
    )
    drafts = await list_drafts(session)
    rows = [
        TypeRow(
            key=r.key,
            name=r.name,
            status="enabled" if r.enabled else "disabled",
            version=r.version,
            has_draft=r.key in drafts,
            updated_at=drafts[r.key].updated_at if r.key in drafts else r.updated_at,
            updated_by=drafts[r.key].updated_by if r.key in drafts else r.updated_by,
            alerts_7d=int(counts.get(r.key, 0)),
        )
        for r in await list_rows(session=session)
    ]
    published = {r.key for r in rows}
    rows += [
        TypeRow(
            key=d.key,
            name=str(d.spec.get("name") or d.key),
            status="draft",
            version=0,
            has_draft=True,
            updated_at=d.updated_at,
            updated_by=d.updated_by,
            alerts_7d=0,
        )
        for d in drafts.values()
        if d.key not in published
    ]
    return sorted(rows, key=lambda r: r.name.lower())


# --- SMS length ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmsReport:
    """The SMS as this example renders it, and with long values (what the limit is checked on)."""

    text: str
    characters: int
    encoding: str
    units: int
    segments: int
    offending: str
    long_segments: int
    max_segments: int
    error: str = ""

    @property
    def per_segment(self) -> int:
        single = 160 if self.encoding == "GSM-7" else 70
        return single if self.segments <= 1 else single - 7 if single == 160 else single - 3

    @property
    def summary(self) -> str:
        plural = "" if self.segments == 1 else "s"
        return (
            f"{self.characters} characters · {self.segments} SMS segment{plural} · {self.encoding}"
        )

    @property
    def cost_note(self) -> str:
        """What the non-GSM characters cost, in plain words."""
        if not self.offending:
            return (
                "Only GSM characters: up to 160 characters fit in one SMS (153 per part when "
                "it is split)."
            )
        chars = " ".join(f"“{c}”" for c in self.offending)
        return (
            f"{chars} {'is' if len(self.offending) == 1 else 'are'} not in the GSM alphabet, so "
            "the whole SMS is sent as UCS-2: only 70 characters fit in one SMS (67 per part). "
            "Replace them to fit more text per SMS."
        )

    @property
    def over_limit(self) -> bool:
        return self.long_segments > self.max_segments

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "characters": self.characters,
            "encoding": self.encoding,
            "units": self.units,
            "segments": self.segments,
            "offending": self.offending,
            "long_segments": self.long_segments,
            "max_segments": self.max_segments,
            "summary": self.summary,
            "cost_note": self.cost_note,
            "over_limit": self.over_limit,
            "error": self.error,
        }


def sms_report(
    template: str, *, spec_data: Mapping[str, Any], base: Mapping[str, Any], locale: str = "en"
) -> SmsReport:
    """``template`` (an SMS body in ``locale``) rendered with ``base`` and with long sample
    values, counted."""
    options = list(spec_data.get("options") or [])
    max_segments = int(spec_data.get("sms_max_segments") or 3)
    error = ""
    try:
        text = render_template(template, render_context(base, options, "sms", locale))
        long_text = render_template(template, long_sample_context(options, "sms"))
    except ContentError as exc:
        text = long_text = template
        error = f"cannot be filled in: {exc}"
    length, long_length = sms_length(text), sms_length(long_text)
    return SmsReport(
        text=text,
        characters=len(text),
        encoding=length.encoding,
        units=length.units,
        segments=length.segments,
        offending=length.offending,
        long_segments=long_length.segments,
        max_segments=max_segments,
        error=error,
    )


# --- preview ------------------------------------------------------------------------------


def preview_sms(spec: AlertTypeSpec, locale: str, base: Mapping[str, Any]) -> str:
    content = AlertContent(spec, locale, "sms")
    ctx = render_context(base, [o.model_dump() for o in spec.options], "sms", locale, spec)
    return content.render("body", ctx)


def preview_email(
    spec: AlertTypeSpec, locale: str, base: Mapping[str, Any]
) -> tuple[str, str, str]:
    """(subject, text, html) exactly as the email is built when sent (sample answer links)."""
    options = [o.model_dump() for o in spec.options]
    ctx = render_context(base, options, "email", locale, spec)
    links = {o["intent"]: SAMPLE_LINK for o in channel_options(options, "email")}
    return AlertContent(spec, locale, "email").email(ctx, links)


@dataclass(frozen=True, slots=True)
class VoicePart:
    label: str  # "Message, part 1", "Menu", "Voicemail"
    how: str  # "Recording" | "Text-to-speech"
    text: str
    why: str
    recording_id: int | None = None  # the recording played, for "Recording"


async def preview_voice(
    session: AsyncSession, spec: AlertTypeSpec, locale: str, base: Mapping[str, Any]
) -> list[VoicePart]:
    """The call as a script: each message segment played from a recording or spoken (TTS)."""
    found = voice_message(spec, locale)
    if found is None:
        return []
    used, template = found
    ctx = render_context(base, [o.model_dump() for o in spec.options], "voice", used, spec)
    segments = split_segments(template)
    recorded: dict[int, str] = {}
    outdated: set[int] = set()
    rows = await recordings_for(session, spec.key, used)
    for index, row in rows.items():
        if is_current(row, segments):
            recorded[index] = row.segment_text
        else:
            outdated.add(index)
    render = segment_renderer(ctx, where=f"content.{used}.voice.message")
    parts = []
    for seg in plan_segments(template, render, recorded, outdated=outdated):
        kind = "Recording" if seg.kind == "play" else "Text-to-speech"
        text = segments[seg.index] if seg.kind == "play" else seg.value
        played = rows[seg.index].id if seg.kind == "play" else None
        parts.append(VoicePart(f"Message, part {seg.index + 1}", kind, text, seg.why, played))
    content = AlertContent(spec, locale, "voice")
    for name, label in (
        ("prompt", "Menu (asked after the message)"),
        ("reprompt", "Second chance (after silence or a wrong key)"),
        ("voicemail", "Voicemail"),
    ):
        parts.append(VoicePart(label, "Text-to-speech", content.render(name, ctx), SPOKEN))
    return parts


def preview_errors(spec: AlertTypeSpec, locale: str, channel: Channel) -> str:
    """Why ``channel`` in ``locale`` cannot be previewed, or ""."""
    try:
        AlertContent(spec, locale, channel).template(
            {"sms": "body", "email": "subject", "voice": "message"}[channel]
        )
    except ContentError as exc:
        return str(exc)
    return ""


# --- versions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiffLine:
    field: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict) and value:
        out: dict[str, str] = {}
        for k in sorted(value):
            out.update(_flatten(value[k], f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{i + 1}]"))
        return out
    if isinstance(value, str):
        return {prefix: value}
    return {prefix: json.dumps(value, ensure_ascii=False)}


def diff_specs(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[DiffLine]:
    """Every field of either version, side by side (``version`` itself left out)."""
    a = _flatten({k: v for k, v in before.items() if k != "version"})
    b = _flatten({k: v for k, v in after.items() if k != "version"})
    return [DiffLine(f, a.get(f, ""), b.get(f, "")) for f in sorted(a.keys() | b.keys())]
