"""Inspect adapters and files without ingesting anything (`herald adapters list` / `check`)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from typing import NotRequired, TypedDict

from xml_adapters.base import AccountEvent, Adapter, IngestError, record_as_dict
from xml_adapters.mapping import MappingAdapter
from xml_adapters.registry import ADAPTERS, MAPPINGS_DIR, read_file

MAX_PROBLEMS_LISTED = 1000


class FormatInfo(TypedDict):
    """A root element an adapter reads, and every namespace URI accepted for it."""

    root: str
    namespaces: list[str]


class RecordInfo(TypedDict):
    """One record kind of a mapping adapter."""

    kind: str
    element: str
    contexts: list[str]
    event_type: str | None
    event_id: str | None
    fields: list[str]  # what its events carry in `data` (conditions read event.data["name"])


class AdapterInfo(TypedDict):
    """What `herald adapters list` shows of one adapter (mapping adapters say more)."""

    key: str
    title: str
    description: str | None
    formats: NotRequired[list[FormatInfo]]
    versions: NotRequired[list[str]]
    records: NotRequired[list[RecordInfo]]
    source: NotRequired[str]
    builtin: bool


class FileCheck(TypedDict):
    """What `herald adapters check` found in one file (see `check_file`)."""

    file: str
    adapter: str | None
    title: str | None
    records: int
    events: int
    problems: int
    event_types: dict[str, int]
    first_events: list[dict[str, object]]
    problem_messages: list[str]
    error: str | None
    ok: bool


def describe_adapters(adapters: Mapping[str, Adapter] | None = None) -> list[AdapterInfo]:
    """One JSON-ready dict per adapter: key, title, description, the roots and namespaces it
    reads, its record kinds, and the mapping file it comes from (`builtin` when shipped)."""
    described: list[AdapterInfo] = []
    for key, adapter in (ADAPTERS if adapters is None else adapters).items():
        entry: AdapterInfo
        if isinstance(adapter, MappingAdapter):
            spec = adapter.spec
            data_fields = {r.kind: list(r.data_fields) for r in adapter.plan().records.values()}
            entry = {
                "key": key,
                "title": adapter.title,
                "description": " ".join((spec.description or "").split()) or None,
                "formats": [
                    {"root": f["root"], "namespaces": f["namespaces"]} for f in adapter.formats()
                ],
                "versions": list(adapter.versions),
                "records": [
                    {
                        "kind": r.kind,
                        "element": r.element,
                        "contexts": list(r.contexts),
                        "event_type": r.event_type,
                        "event_id": r.event_id,
                        "fields": data_fields.get(r.kind, []),
                    }
                    for r in spec.records
                ],
                "source": adapter.source,
                "builtin": os.path.dirname(os.path.abspath(adapter.source)) == str(MAPPINGS_DIR),
            }
        else:
            entry = {
                "key": key,
                "title": adapter.title,
                "description": (adapter.__doc__ or "").strip() or None,
                "builtin": True,
            }
        described.append(entry)
    return described


def check_file(
    path: str | os.PathLike[str],
    adapter_key: str | None = None,
    limit: int = 5,
    *,
    adapters: Mapping[str, Adapter] | None = None,
) -> FileCheck:
    """Read a file as ingestion would, store nothing, and say what it holds.

    Returns a JSON-ready dict: `file`; `adapter` and `title` (None if no adapter reads it);
    counts of `records`, `events` and `problems`; `event_types` (type -> count); `first_events`
    (the first `limit` events, as `record_as_dict` gives them); `problem_messages` (up to 1000,
    as text); `error` (why the file could not be read to its end, else None); `ok` (no error and
    no problem). Never raises for a bad file: that is what `error` is for.
    """
    name = os.fspath(path)
    result: FileCheck = {
        "file": name,
        "adapter": None,
        "title": None,
        "records": 0,
        "events": 0,
        "problems": 0,
        "event_types": {},
        "first_events": [],
        "problem_messages": [],
        "error": None,
        "ok": False,
    }
    types: Counter[str] = Counter()
    try:
        adapter, records = read_file(path, adapter_key, adapters=adapters)
        result["adapter"], result["title"] = adapter.key, adapter.title
        for record in records:
            result["records"] += 1
            if isinstance(record, AccountEvent):
                result["events"] += 1
                types[record.event_type] += 1
                if len(result["first_events"]) < limit:
                    result["first_events"].append(record_as_dict(record))
            else:
                result["problems"] += 1
                if len(result["problem_messages"]) < MAX_PROBLEMS_LISTED:
                    result["problem_messages"].append(str(record))
    except IngestError as exc:
        result["error"] = str(exc)
    except OSError as exc:
        result["error"] = f"{name}: cannot read the file ({exc.strerror or exc})"
    result["event_types"] = dict(sorted(types.items()))
    result["ok"] = result["error"] is None and result["problems"] == 0
    return result
