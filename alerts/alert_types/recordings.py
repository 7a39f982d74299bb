"""Recorded voice segments: the table, the play-or-say rule, signed media URLs, stored audio.

A voice message template is a sequence of segments, one per paragraph (split at blank lines).
An administrator may upload prerecorded audio for a segment of one locale; the call then plays it
(``<Play>``) instead of speaking the text (``<Say>``). The rule, in ``segment_rule``: a segment
that carries customer data (any ``{{ }}`` or ``{% %}``) is always spoken, since a recording
cannot say this customer's amount or name; otherwise the recording plays when there is one for
that locale and segment and it was recorded for the segment's current wording, else the text is
spoken. Audio is stored once by SHA-256 under ``files_dir/recordings`` and served to Twilio at
signed URLs that expire (``MediaSigner``).

Past 400 lines: the rule, the table and the stored audio are one feature an administrator uses
as one (upload, see which segment plays, replace); the next split is audio storage on its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

import sqlalchemy as sa
from jinja2 import TemplateSyntaxError
from jinja2.exceptions import TemplateError
from sqlmodel import Field, SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.alert_types.audio_checks import check_audio
from alerts.alert_types.content import TEXT_ENV as _ENV
from alerts.alert_types.content import ContentError, compiled
from alerts.alert_types.store import get_spec
from alerts.columns import UTCDateTime, utcnow
from alerts.links import MediaSigner
from rules.alert_types import AlertTypeSpec

logger = logging.getLogger(__name__)

MAX_RECORDING_BYTES = 10 * 1024 * 1024
RECORDINGS_DIR = "recordings"  # under settings.files_dir
MEDIA_PATH = "/media/recordings"  # public, token-protected; Twilio fetches the audio here
# Accepted Content-Types and the audio each must be: (canonical type, file extension).
ACCEPTED_TYPES: dict[str, tuple[str, str]] = {
    "audio/mpeg": ("audio/mpeg", "mp3"),
    "audio/wav": ("audio/wav", "wav"),
    "audio/x-wav": ("audio/wav", "wav"),
}

WHY_RECORDED = "recorded audio"
WHY_NO_RECORDING = "text-to-speech: no recording for this locale"
WHY_DATA = "text-to-speech: carries customer data"
WHY_OUTDATED = "text-to-speech: the recording is of an earlier wording of this segment"

# The same sandbox as alerts.alert_types.content renders in (strict: an unknown variable is
# an error).
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


class Recording(SQLModel, table=True):
    """Prerecorded audio for one segment (paragraph) of an alert type's voice message."""

    __tablename__ = "recordings"
    __table_args__ = (sa.UniqueConstraint("alert_type", "locale", "segment"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_type: str = Field(max_length=64, index=True)
    locale: str = Field(max_length=20)
    segment: int  # 0-based paragraph of content[locale]["voice"]["message"]
    # The paragraph as it read when recorded: after an edit of its wording it is spoken again.
    segment_text: str = Field(default="", sa_type=sa.Text)
    content_type: str = Field(max_length=40)
    size_bytes: int
    sha256: str = Field(max_length=64)
    stored_path: str = Field(max_length=200)  # relative to settings.files_dir
    uploaded_by: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class RecordingError(ValueError):
    """An upload or change was refused; the message says what was wrong and what to do."""


class RecordingTooLarge(RecordingError):
    """The audio is over MAX_RECORDING_BYTES."""


class UnsupportedAudio(RecordingError):
    """The Content-Type is not accepted, or the bytes are not the audio it names."""


class RecordingNotFound(LookupError):
    """No such alert type, or no recording in that slot."""


# --- the rule (pure) -----------------------------------------------------------------------


def split_segments(template: str) -> list[str]:
    """The segments of a voice message template: its paragraphs (split at blank lines), stripped,
    empty ones dropped. A Jinja block or expression that spans a blank line stays in one segment,
    so every segment is a template that renders on its own."""
    text = template.replace("\r\n", "\n").replace("\r", "\n")
    segments: list[str] = []
    pending = ""
    for paragraph in _PARAGRAPH_BREAK.split(text):
        pending = f"{pending}\n\n{paragraph}" if pending else paragraph
        try:
            _ENV.parse(pending)
        except TemplateSyntaxError:
            continue  # unbalanced so far: join the next paragraph
        if pending.strip():
            segments.append(pending.strip())
        pending = ""
    if pending.strip():  # never balanced (the alert type's own validation reports it)
        segments.append(pending.strip())
    return segments


def carries_data(segment_template: str) -> bool:
    """True if the segment contains a Jinja expression or statement (customer data)."""
    return "{{" in segment_template or "{%" in segment_template


def segment_rule(
    *, carries: bool, recorded: bool, outdated: bool = False
) -> tuple[Literal["play", "say"], str]:
    """Whether a segment is played or spoken, and why."""
    if carries:
        return "say", WHY_DATA
    if outdated:
        return "say", WHY_OUTDATED
    if recorded:
        return "play", WHY_RECORDED
    return "say", WHY_NO_RECORDING


@dataclass(frozen=True, slots=True)
class Segment:
    kind: Literal["play", "say"]
    value: str  # the audio URL to <Play>, or the rendered text to <Say>
    index: int  # 0-based paragraph of the message template
    why: str


def plan_segments(
    template: str,
    render: Callable[[str], str],
    recordings: Mapping[int, str],
    *,
    outdated: Collection[int] = (),
) -> list[Segment]:
    """The message as segments to play or say. ``recordings`` maps a segment index to its audio
    URL; ``outdated`` names indexes whose recording is of an earlier wording. Only spoken
    segments are rendered; one that renders to nothing is left out."""
    plan: list[Segment] = []
    for index, source in enumerate(split_segments(template)):
        kind, why = segment_rule(
            carries=carries_data(source),
            recorded=index in recordings,
            outdated=index in outdated,
        )
        if kind == "play":
            plan.append(Segment("play", recordings[index], index, why))
            continue
        text = render(source).strip()
        if text:
            plan.append(Segment("say", text, index, why))
    return plan


def segment_renderer(context: Mapping[str, Any], *, where: str) -> Callable[[str], str]:
    """``render`` for ``plan_segments``: a segment rendered with ``context`` (ContentError naming
    ``where``, e.g. "content.en.voice.message", if it cannot be)."""

    def render(source: str) -> str:
        try:
            return compiled(source).render(**context).strip()
        except TemplateError as exc:
            raise ContentError(f"{where} cannot be rendered: {exc}") from exc

    return render


def sniff_audio(data: bytes) -> str | None:
    """The canonical content type of ``data`` by its first bytes: WAV (RIFF....WAVE) or MP3 (an
    ID3 tag or an MPEG audio frame sync); None for anything else."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"ID3":
        return "audio/mpeg"
    # 11 sync bits, then version (01 reserved) and layer (00 reserved; AAC's ADTS uses it).
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        version, layer = (data[1] >> 3) & 0b11, (data[1] >> 1) & 0b11
        if version != 0b01 and layer != 0b00:
            return "audio/mpeg"
    return None


# --- signed media URLs ---------------------------------------------------------------------


def media_url(public_url: str, signer: MediaSigner, recording: Recording) -> str:
    assert recording.id is not None
    return f"{public_url}{MEDIA_PATH}/{signer.sign(recording.id)}"


# --- stored recordings ---------------------------------------------------------------------


def voice_message(spec: AlertTypeSpec, locale: str) -> tuple[str, str] | None:
    """(locale, template) of the voice message used for ``locale``: its own, else the fallback
    locale's (as alerts.alert_types.content.AlertContent does); None if neither has one."""
    for candidate in (locale, spec.fallback_locale):
        message = spec.content.get(candidate, {}).get("voice", {}).get("message")
        if message is not None:
            return candidate, message
    return None


def voice_locales(spec: AlertTypeSpec) -> list[str]:
    """The locales with their own voice message (the ones that can take recordings)."""
    return sorted(
        loc for loc, channels in spec.content.items() if "message" in channels.get("voice", {})
    )


async def get_recording(
    session: AsyncSession, alert_type: str, locale: str, segment: int
) -> Recording | None:
    query = select(Recording).where(
        Recording.alert_type == alert_type, Recording.locale == locale, Recording.segment == segment
    )
    return (await session.exec(query)).first()


async def recordings_for(
    session: AsyncSession, alert_type: str, locale: str
) -> dict[int, Recording]:
    """The recordings of one alert type and locale, by segment index."""
    query = select(Recording).where(Recording.alert_type == alert_type, Recording.locale == locale)
    return {r.segment: r for r in (await session.exec(query)).all()}


async def all_recordings(session: AsyncSession, alert_type: str) -> list[Recording]:
    query = (
        select(Recording)
        .where(Recording.alert_type == alert_type)
        .order_by(col(Recording.locale), col(Recording.segment))
    )
    return list((await session.exec(query)).all())


def stored_file(files_dir: Path, recording: Recording) -> Path | None:
    """The recording's audio file, if it is there (and inside ``files_dir``)."""
    root = files_dir.resolve()
    path = (root / recording.stored_path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def _check_audio(data: bytes, content_type: str) -> tuple[str, str]:
    """(canonical content type, extension) of an upload, or why it is refused."""
    declared = content_type.split(";", 1)[0].strip().lower()
    accepted = ", ".join(ACCEPTED_TYPES)
    if declared not in ACCEPTED_TYPES:
        raise UnsupportedAudio(
            f"Content-Type {declared or '(none)'!r} is not accepted; send MP3 or WAV audio with "
            f"Content-Type one of {accepted}"
        )
    if not data:
        raise RecordingError("the body is empty; send the audio file as the request body")
    if len(data) > MAX_RECORDING_BYTES:
        raise RecordingTooLarge(
            f"the audio is {len(data)} bytes, over the limit of {MAX_RECORDING_BYTES} bytes "
            "(10 MB); shorten the recording or encode it as MP3"
        )
    canonical, ext = ACCEPTED_TYPES[declared]
    found = sniff_audio(data)
    if found is None:
        raise UnsupportedAudio(
            f"the body is not WAV or MP3 audio (it starts with {data[:12]!r}); send a .wav or "
            f".mp3 file with Content-Type one of {accepted}"
        )
    if found != canonical:
        raise UnsupportedAudio(
            f"the body is {found} audio but Content-Type says {declared}; send it with "
            f"Content-Type: {found}"
        )
    try:  # the same checks as the recordings page: rate, length, real frames
        check_audio(data, canonical)
    except ValueError as exc:
        raise RecordingError(f"this audio cannot be played on a call: {exc}") from exc
    return canonical, ext


def _slot_template(spec: AlertTypeSpec, locale: str, segment: int) -> str:
    """The template of one segment that may take a recording, or why it may not."""
    message = spec.content.get(locale, {}).get("voice", {}).get("message")
    if message is None:
        having = ", ".join(voice_locales(spec)) or "none"
        raise RecordingError(
            f"alert type {spec.key} has no voice message in locale {locale!r} (locales with "
            f"one: {having}); add content.{locale}.voice.message to the alert type first"
        )
    segments = split_segments(message)
    if segment >= len(segments):
        raise RecordingError(
            f"segment {segment} does not exist: the {locale} voice message of {spec.key} has "
            f"{len(segments)} segment(s), numbered from 0 (paragraphs, split at blank lines)"
        )
    source = segments[segment]
    if carries_data(source):
        recordable = [str(i) for i, s in enumerate(segments) if not carries_data(s)]
        raise RecordingError(
            f"segment {segment} ({_preview(source)!r}) carries customer data ({{{{ }}}} or "
            "{% %}): it is always spoken by text-to-speech, so it cannot take a recording; "
            f"segments that can: {', '.join(recordable) or 'none'} (or move the fixed words "
            "into a paragraph of their own)"
        )
    return source


def _preview(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.stat().st_size == len(data):
        return  # stored by SHA-256: the same content is already there
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def _remove_if_unused(session: AsyncSession, files_dir: Path, stored_path: str) -> None:
    """Delete a stored audio file no recording refers to any more (files are shared by hash)."""
    query = select(func.count()).select_from(Recording).where(Recording.stored_path == stored_path)
    if (await session.exec(query)).one() == 0:
        (files_dir / stored_path).unlink(missing_ok=True)


class _UploadFields(TypedDict):
    """The columns an upload sets on its `Recording` row."""

    segment_text: str
    content_type: str
    size_bytes: int
    sha256: str
    stored_path: str
    uploaded_by: str
    created_at: datetime


def _audited(row: Recording) -> dict[str, Any]:
    return {"sha256": row.sha256, "content_type": row.content_type, "size_bytes": row.size_bytes}


async def save_recording(
    session: AsyncSession,
    *,
    files_dir: Path,
    alert_type: str,
    locale: str,
    segment: int,
    data: bytes,
    content_type: str,
    actor: str,
) -> Recording:
    """Store audio for one segment, replacing the slot's previous recording. Refused
    (RecordingError, or its TooLarge / UnsupportedAudio kinds) for audio that is not what it
    says, a locale without a voice message, a segment that does not exist or that carries
    customer data; RecordingNotFound for an unknown alert type."""
    canonical, ext = _check_audio(data, content_type)
    spec = await get_spec(session, alert_type)
    if spec is None:
        raise RecordingNotFound(f"no alert type {alert_type!r}")
    source = _slot_template(spec, locale, segment)
    sha256 = hashlib.sha256(data).hexdigest()
    stored_path = f"{RECORDINGS_DIR}/{sha256}.{ext}"
    await asyncio.to_thread(_write_atomically, files_dir / stored_path, data)
    fields: _UploadFields = {
        "segment_text": source,
        "content_type": canonical,
        "size_bytes": len(data),
        "sha256": sha256,
        "stored_path": stored_path,
        "uploaded_by": actor,
        "created_at": utcnow(),
    }
    row = await get_recording(session, alert_type, locale, segment)
    previous = row.stored_path if row else None
    audit.record(
        session,
        kind="recording",
        entity_id=f"{alert_type} {locale} segment {segment}",
        action="replace" if row else "upload",
        before=_audited(row) if row else None,
        after={"sha256": sha256, "content_type": canonical, "size_bytes": len(data)},
    )
    if row is None:
        row = Recording(alert_type=alert_type, locale=locale, segment=segment, **fields)
    else:
        row.sqlmodel_update(dict(fields))
    session.add(row)
    try:
        await session.commit()
    except BaseException:
        await session.rollback()
        await _remove_if_unused(session, files_dir, stored_path)
        raise
    if previous and previous != stored_path:
        await _remove_if_unused(session, files_dir, previous)
    logger.info(
        "recording stored recording_id=%s alert_type=%s locale=%s segment=%s file_sha256=%s "
        "bytes=%s by=%s replaced=%s",
        row.id,
        alert_type,
        locale,
        segment,
        sha256[:12],
        len(data),
        actor,
        previous is not None,
    )
    return row


async def delete_recording(
    session: AsyncSession, *, files_dir: Path, alert_type: str, locale: str, segment: int
) -> Recording:
    """Remove one segment's recording (it is spoken again); RecordingNotFound if there is none."""
    row = await get_recording(session, alert_type, locale, segment)
    if row is None:
        raise RecordingNotFound(
            f"alert type {alert_type} has no recording for segment {segment} in locale {locale!r}"
        )
    audit.record(
        session,
        kind="recording",
        entity_id=f"{alert_type} {locale} segment {segment}",
        action="delete",
        before=_audited(row),
    )
    await session.delete(row)
    await session.commit()
    await _remove_if_unused(session, files_dir, row.stored_path)
    logger.info(
        "recording deleted recording_id=%s alert_type=%s locale=%s segment=%s file_sha256=%s",
        row.id,
        alert_type,
        locale,
        segment,
        row.sha256[:12],
    )
    return row


def is_current(recording: Recording, segments: list[str]) -> bool:
    """True while the recorded segment still exists with the wording it was recorded for."""
    index = recording.segment
    return index < len(segments) and segments[index] == recording.segment_text


async def message_segments(
    session: AsyncSession,
    *,
    spec: AlertTypeSpec,
    locale: str,
    render: Callable[[str], str],
    public_url: str,
    signer: MediaSigner,
) -> list[Segment]:
    """The voice message of ``spec`` for ``locale`` as segments to play or say. The locale's own
    message and recordings, else the fallback locale's (ContentError if neither has one)."""
    found = voice_message(spec, locale)
    if found is None:
        raise ContentError(f"{spec.key} has no voice template 'message' for {locale!r}")
    used, template = found
    segments = split_segments(template)
    urls: dict[int, str] = {}
    outdated: set[int] = set()
    for index, row in (await recordings_for(session, spec.key, used)).items():
        if is_current(row, segments):
            urls[index] = media_url(public_url, signer, row)
        else:
            outdated.add(index)
    plan = plan_segments(template, render, urls, outdated=outdated)
    logger.debug(
        "voice plan alert_type=%s locale=%s content_locale=%s %s",
        spec.key,
        locale,
        used,
        "; ".join(f"{s.index}:{s.kind} ({s.why})" for s in plan),
    )
    return plan
