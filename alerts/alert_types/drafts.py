"""Drafts of alert types: edits kept server-side until published as a new stored version.

An administrator's change is a draft (``alert_type_drafts``, one per alert type) that survives
page reloads and is checked on every save with the same checks as publishing
(``store.validate_spec``), each problem tied to the field it concerns. Publishing stores the
draft as the type's next version through ``store.save_version`` (so the version history,
optimistic concurrency and the content checks are the store's), then drops the draft. With the
four-eyes rule on, nobody who edited a draft may publish it.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass

from pydantic import JsonValue
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.store import AlertTypeError, get_row, save_version, validate_spec
from alerts.columns import utcnow
from alerts.models import AlertType, AlertTypeDraft, AlertTypeVersion
from rules.alert_types import AlertTypeSpec
from rules.conditions import ConditionError, compile_condition

logger = logging.getLogger(__name__)

_KEY = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
# "content.nl.sms.body cannot be rendered: ..." / "content.nl.sms: lacks ..." -> the field
_CONTENT_FIELD = re.compile(r"content\.([A-Za-z0-9-]+)\.(voice|sms|email)(?:\.([a-z_]+))?")
LANGUAGES = {
    "en": "English",
    "nl": "Dutch",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "pl": "Polish",
}
CHANNEL_WORDS = {"voice": "voice call", "sms": "SMS", "email": "email"}


class DraftError(ValueError):
    """A draft operation that cannot be done, with a message for the administrator."""


class FourEyesRefused(DraftError):
    """The four-eyes rule: the person who edited a draft may not publish it."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a draft, next to ``field`` (e.g. ``content.nl.sms.body``)."""

    field: str
    message: str
    position: int | None = None  # 0-based offset into a condition
    blocking: bool = True  # False: a warning, publishing is allowed


def language_name(locale: str) -> str:
    return LANGUAGES.get(locale, LANGUAGES.get(locale.split("-")[0], locale))


def _field_of(line: str) -> tuple[str, str]:
    """(field, message) of one of ``AlertTypeError.lines``."""
    found = _CONTENT_FIELD.search(line)
    if found and found.start() < 30:
        field = found.group(0)
        message = line[found.end() :].lstrip(": ") or line
        return field, message
    where, sep, message = line.partition(": ")
    if sep and re.fullmatch(r"[a-z_0-9.]+", where):
        return where, message
    return "general", line


def _object(value: JsonValue | None) -> dict[str, JsonValue]:
    return value if isinstance(value, dict) else {}


def check(data: dict[str, JsonValue]) -> list[Problem]:
    """Everything that would stop ``data`` from being published, plus warnings, by field."""
    problems: list[Problem] = []
    condition = str(_object(data.get("trigger")).get("condition", ""))
    try:
        compile_condition(condition, typed=True)
    except ConditionError as exc:
        problems.append(Problem("trigger.condition", str(exc), exc.position))
    problems.extend(option_key_problems(data.get("options")))
    # The rest is checked with the condition left out, so a wrong condition does not hide
    # a problem in the texts (the condition's own problem, with its position, is above).
    trigger = {**_object(data.get("trigger")), "condition": ""}
    try:
        spec = validate_spec({**data, "trigger": trigger, "version": 1})
    except AlertTypeError as exc:
        for line in exc.lines:
            problems.append(Problem(*_field_of(line)))
        return problems
    problems.extend(missing_languages(spec))
    return problems


RESERVED_KEYS = {
    "#": "# ends the keypad input on a call (Twilio's finishOnKey), so it cannot choose"
}


def option_key_problems(options: JsonValue | None) -> list[Problem]:
    """A key used twice or reserved, at the option that has it (the second of two)."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, option in enumerate(options if isinstance(options, list) else []):
        key = str(_object(option).get("key", ""))
        if key in RESERVED_KEYS:
            problems.append(Problem(f"options.{i}.key", f"Key {key}: {RESERVED_KEYS[key]}."))
        elif key in seen:
            problems.append(
                Problem(
                    f"options.{i}.key",
                    f"Key {key} is already option {seen[key] + 1}: each option needs its own key.",
                )
            )
        seen.setdefault(key, i)
    return problems


def missing_languages(spec: AlertTypeSpec) -> list[Problem]:
    """Warnings: a language with no content for a channel the delivery policy uses."""
    warnings = []
    fallback = language_name(spec.fallback_locale)
    for locale, channels in spec.content.items():
        for channel in spec.delivery.channel_order:
            if channel not in channels:
                warnings.append(
                    Problem(
                        f"content.{locale}.{channel}",
                        f"{language_name(locale)} has no {CHANNEL_WORDS[channel]} text: "
                        f"{language_name(locale)}-speaking customers get the {fallback} one. "
                        f"Add the {language_name(locale)} {CHANNEL_WORDS[channel]} text.",
                        blocking=False,
                    )
                )
    return warnings


# --- reading ----------------------------------------------------------------------------------


async def get_draft(session: AsyncSession, key: str) -> AlertTypeDraft | None:
    return (await session.exec(select(AlertTypeDraft).where(AlertTypeDraft.key == key))).first()


async def list_drafts(session: AsyncSession) -> dict[str, AlertTypeDraft]:
    rows = (await session.exec(select(AlertTypeDraft).order_by(col(AlertTypeDraft.key)))).all()
    return {d.key: d for d in rows}


# --- changing ---------------------------------------------------------------------------------


def _touch(draft: AlertTypeDraft, actor: str) -> None:
    draft.updated_by, draft.updated_at = actor, utcnow()
    if actor not in draft.editors:
        draft.editors = [*draft.editors, actor]


async def start_draft(*, session: AsyncSession, key: str, actor: str) -> AlertTypeDraft:
    """The draft of ``key``: the existing one, or a new one copied from the published version."""
    draft = await get_draft(session, key)
    if draft is not None:
        return draft
    row = await get_row(session, key)
    if row is None:
        raise DraftError(f"There is no alert type “{key}”.")
    draft = AlertTypeDraft(
        key=key, spec=copy.deepcopy(row.spec), base_version=row.version, updated_by=actor
    )
    session.add(draft)
    await session.commit()
    await session.refresh(draft)
    logger.info("draft started alert_type=%s from version=%s by %s", key, row.version, actor)
    return draft


async def new_draft(
    *, session: AsyncSession, key: str, name: str, actor: str, copy_from: str | None = None
) -> AlertTypeDraft:
    """A draft of a new alert type: a copy of ``copy_from`` or a small starting point."""
    key, name = key.strip(), name.strip()
    if not _KEY.match(key):
        raise DraftError(
            "The short name must start with a letter and use only lower-case letters, digits "
            "and _ (2 to 64 characters), e.g. large_refund."
        )
    if not name:
        raise DraftError("Give the alert type a name, e.g. “Large refund”.")
    if await get_row(session, key) is not None or await get_draft(session, key) is not None:
        raise DraftError(f"An alert type called “{key}” already exists: choose another name.")
    if copy_from:
        source = await get_row(session, copy_from)
        if source is None:
            raise DraftError(f"There is no alert type “{copy_from}” to copy.")
        spec = copy.deepcopy(source.spec)
        spec.update(key=key, name=name, enabled=False, version=1)
    else:
        spec = starter_spec(key, name)
    draft = AlertTypeDraft(key=key, spec=spec, base_version=0, updated_by=actor, editors=[actor])
    session.add(draft)
    await session.commit()
    await session.refresh(draft)
    logger.info("draft of a new alert type=%s (copy of %s) by %s", key, copy_from, actor)
    return draft


def starter_spec(key: str, name: str) -> dict[str, JsonValue]:
    """A new alert type to start from: English SMS and email, disabled until published."""
    return {
        "key": key,
        "name": name,
        "description": "",
        "enabled": False,
        "trigger": {"event_types": ["debit_posted"], "condition": "event.amount >= 500"},
        "options": [{"key": "1", "intent": "agent", "label": "Speak to an agent"}],
        "content": {
            "en": {
                "sms": {"body": "{{ brand }}: {{ amount }} {{ currency }}. {{ options_text }}"},
                "email": {
                    "subject": "{{ brand }}: {{ amount }} {{ currency }}",
                    "text": "Dear {{ customer_name }},\n\n{{ options_links }}\n\n{{ brand }}",
                },
            }
        },
        "fallback_locale": "en",
        "delivery": {"channel_order": ["sms", "email"]},
    }


async def save_draft(
    *, session: AsyncSession, key: str, spec: dict[str, JsonValue], actor: str
) -> tuple[AlertTypeDraft, list[Problem]]:
    """Keep ``spec`` as the draft of ``key`` (problems and all) and say what is wrong with it."""
    draft = await start_draft(session=session, key=key, actor=actor)
    draft.spec = {**spec, "key": key}
    _touch(draft, actor)
    session.add(draft)
    await session.commit()
    await session.refresh(draft)
    return draft, check(draft.spec)


async def discard_draft(*, session: AsyncSession, key: str, actor: str) -> None:
    """Throw the draft away: a published type stays as published, a new one is gone."""
    draft = await get_draft(session, key)
    if draft is None:
        raise DraftError(f"“{key}” has no draft to delete.")
    await session.delete(draft)
    await session.commit()
    logger.info("draft discarded alert_type=%s by %s", key, actor)


async def publish_draft(
    *, session: AsyncSession, key: str, actor: str, note: str = "", four_eyes: bool = False
) -> AlertType:
    """The draft stored as the next version of ``key`` (the first, for a new type).

    FourEyesRefused if ``four_eyes`` and ``actor`` edited the draft; AlertTypeError with the
    problems if it is not valid, or if the type changed since the draft started.
    """
    draft = await get_draft(session, key)
    if draft is None:
        raise DraftError(f"“{key}” has no draft to publish.")
    if four_eyes and actor in draft.editors:
        raise FourEyesRefused(
            "You edited this draft, so someone else must publish it (the four-eyes rule is on). "
            "Ask a colleague who may publish to review and publish it."
        )
    row = await save_version(
        session=session,
        data=dict(draft.spec),
        actor=actor,
        note=note or f"published from the studio (edited by {', '.join(draft.editors)})",
        create=draft.base_version == 0,
        expected_version=draft.base_version or None,
    )
    await session.delete(draft)
    await session.commit()
    await session.refresh(row)
    logger.info("draft published alert_type=%s version=%s by %s", key, row.version, actor)
    return row


async def set_enabled(*, session: AsyncSession, key: str, enabled: bool, actor: str) -> AlertType:
    """Switch a published type on or off: a new version, so the history says who and when."""
    row = await get_row(session, key)
    if row is None:
        raise DraftError(f"There is no published alert type “{key}”.")
    word = "enabled" if enabled else "disabled"
    return await save_version(
        session=session,
        data={**row.spec, "enabled": enabled},
        actor=actor,
        note=f"{word} in the studio",
        expected_version=row.version,
    )


async def restore_as_draft(
    *, session: AsyncSession, key: str, version: int, actor: str
) -> AlertTypeDraft:
    """Version ``version`` of ``key`` as its draft (replacing any draft), to review and publish."""
    old = (
        await session.exec(
            select(AlertTypeVersion).where(
                AlertTypeVersion.key == key, AlertTypeVersion.version == version
            )
        )
    ).first()
    row = await get_row(session, key)
    if old is None or row is None:
        raise DraftError(f"“{key}” has no version {version}.")
    draft = await get_draft(session, key) or AlertTypeDraft(key=key)
    draft.spec = copy.deepcopy(old.spec)
    draft.base_version = row.version
    draft.editors = []
    _touch(draft, actor)
    session.add(draft)
    await session.commit()
    await session.refresh(draft)
    logger.info("version %s of %s restored as a draft by %s", version, key, actor)
    return draft
