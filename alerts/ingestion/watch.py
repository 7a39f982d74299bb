"""Watched drop folder: ingest only complete files, then move each to processed/ or failed/
with its report beside it."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from alerts.ingestion.files import IngestReport

logger = logging.getLogger(__name__)
IGNORED_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload", ".filepart")
IngestFn = Callable[[Path], Awaitable[IngestReport]]


@dataclass
class DropFolder:
    """A folder exporters write into. A file counts as complete when its size and modification
    time are unchanged between two looks `settle_seconds` apart (or it was renamed into place
    after being written under a temporary name, which the stability check also covers)."""

    directory: Path
    settle_seconds: float = 2.0
    _seen: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.directory.is_dir():
            raise FileNotFoundError(
                f"{self.directory}: not a directory (create it, or point "
                "`herald watch` at the folder the exports land in)"
            )
        for name in ("processed", "failed"):
            (self.directory / name).mkdir(exist_ok=True)

    def candidates(self) -> list[Path]:
        return sorted(
            p
            for p in self.directory.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and p.suffix.lower() == ".xml"
            and not p.name.endswith(IGNORED_SUFFIXES)
        )

    def stable(self) -> list[Path]:
        """Files unchanged since the previous look; remembers what it saw for the next one."""
        ready = []
        now_seen: dict[Path, tuple[int, int]] = {}
        for path in self.candidates():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            sig = (st.st_size, st.st_mtime_ns)
            now_seen[path] = sig
            if self._seen.get(path) == sig:
                ready.append(path)
        self._seen = now_seen
        return ready

    def finish(self, path: Path, report: IngestReport) -> Path:
        """Move the file to processed/ or failed/ and write `<name>.report.json` beside it."""
        folder = "failed" if report.status == "failed" else "processed"
        target = self.directory / folder / path.name
        if target.exists():
            target = target.with_name(f"{path.stem}.{report.sha256[:12]}{path.suffix}")
        shutil.move(str(path), target)
        target.with_name(target.name + ".report.json").write_text(
            json.dumps(report.as_dict(), indent=2, default=str)
        )
        self._seen.pop(path, None)
        return target

    async def poll(self, ingest: IngestFn) -> list[IngestReport]:
        reports = []
        for path in self.stable():
            report = await ingest(path)
            moved = self.finish(path, report)
            logger.info("watch: %s -> %s (%s)", path.name, moved.parent.name, report.status)
            reports.append(report)
        return reports

    async def run(
        self,
        ingest: IngestFn,
        *,
        once: bool = False,
        on_report: Callable[[IngestReport], None] | None = None,
    ) -> None:
        """Poll until cancelled; with `once`, take two looks, process what is complete, return."""
        self.stable()  # the first look
        while True:
            await asyncio.sleep(self.settle_seconds)
            for report in await self.poll(ingest):
                if on_report is not None:
                    on_report(report)
            if once:
                return
