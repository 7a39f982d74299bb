"""The audio behind a signed media URL: token, then recording, then its file (Twilio's <Play>)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.recordings import Recording, stored_file
from alerts.links import MediaSigner

logger = logging.getLogger(__name__)


class MediaGone(LookupError):
    """The token is good but the recording was deleted since, or its audio file is missing."""


@dataclass(frozen=True)
class MediaFile:
    path: Path
    content_type: str


async def resolve_media(
    *, session: AsyncSession, files_dir: Path, signer: MediaSigner, token: str
) -> MediaFile:
    """The audio file a media token names. MediaLinkError when the token is forged or expired,
    MediaGone when the recording or its file is no longer there."""
    recording_id = signer.load(token)
    row = await session.get(Recording, recording_id)
    if row is None:
        raise MediaGone("this recording no longer exists")
    path = stored_file(files_dir, row)
    if path is None:
        logger.error(
            "recording file missing recording_id=%s alert_type=%s file_sha256=%s path=%s",
            row.id,
            row.alert_type,
            row.sha256[:12],
            row.stored_path,
        )
        raise MediaGone("this recording's audio is missing")
    return MediaFile(path=path, content_type=row.content_type)
