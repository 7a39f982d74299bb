"""HTTP API for alert types as versioned data: list, read, replace, patch, create, history.

Past 400 lines because each of its nine operations carries its own response model and error
declarations for the OpenAPI document; the logic is in ``alerts.alert_types.store``.

Every change is a new stored version (``alerts.alert_types.store.save_spec``); history is never
rewritten, a restore saves the old specification again as the newest version. Optimistic
concurrency: send the version you edited as ``If-Match: "3"`` (the ETag of GET) or
``?expected_version=3``, and an edit made meanwhile by someone else is refused with 409 instead of
silently overwritten. Every error is the API's envelope (``alerts.api.errors``): ``message``
(what was wrong), ``details`` (one line per field, "field: problem") and ``hint`` (what to do).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field, JsonValue
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.store import (
    AlertTypeError,
    SimultaneousSave,
    get_row,
    list_keys,
    list_rows,
    save_version,
    seed_catalogue,
    versions,
)
from alerts.api.deps import (
    HEADER_MAX,
    MAX_ID,
    ActorDep,
    DepsDep,
    KeyPath,
    require,
    require_token,
)
from alerts.api.errors import ApiError, error_responses
from alerts.deps import AlertDeps
from alerts.models import AlertType, AlertTypeVersion

logger = logging.getLogger(__name__)

BASE = "/api/v1/alert-types"


class AlertTypeSummary(BaseModel):
    key: str
    name: str
    enabled: bool
    version: int
    category: str | None
    priority: int | None
    mandatory: bool | None
    updated_by: str
    updated_at: datetime


class AlertTypeCurrent(BaseModel):
    """The current specification; the version is also the response's ETag."""

    key: str
    spec: dict[str, JsonValue] = Field(description="the rules.alert_types.AlertTypeSpec as JSON")
    version: int
    updated_by: str
    updated_at: datetime


class VersionSummary(BaseModel):
    version: int
    changed_by: str
    note: str
    created_at: datetime


class VersionOut(VersionSummary):
    """One saved version's specification, as it was."""

    key: str
    spec: dict[str, JsonValue]


router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(require_token)],
    tags=["alert types"],
    responses=error_responses(400, 401, 403, 404, 422, 500, 503),
)

IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=HEADER_MAX,
        description='the version you edited, as in the ETag: "3"',
    ),
]
ExpectedVersion = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_ID,
        description="the version you edited; refused with 409 if it is no longer current",
    ),
]
Note = Annotated[
    str, Query(max_length=500, description="why the change was made (kept with the version)")
]
VersionPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a version number")]

_SPEC_BODY: dict[str, JsonValue] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "an alert type specification (rules.alert_types."
                    "AlertTypeSpec) as JSON, e.g. the `spec` of GET /api/v1/alert-types/{key}",
                }
            }
        },
    }
}
_PATCH_BODY: dict[str, JsonValue] = {
    "requestBody": {
        "required": True,
        "content": {
            ct: {
                "schema": {
                    "type": "object",
                    "description": "fields to change: objects merge recursively, lists and "
                    "values replace, null removes a field (its default applies)",
                }
            }
            for ct in ("application/json", "application/merge-patch+json")
        },
    }
}


@asynccontextmanager
async def _session(deps: AlertDeps) -> AsyncIterator[AsyncSession]:
    """A session on a database holding at least the default catalogue (fresh installs)."""
    async with deps.sessions() as session:
        await seed_catalogue(session)
        yield session


async def _json_object(request: Request) -> dict[str, JsonValue]:
    raw = await request.body()
    hint = "send a JSON object with Content-Type: application/json"
    if not raw.strip():
        raise ApiError(422, "the request has no body", hint=hint)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(422, f"the body is not valid JSON: {exc}", hint=hint) from exc
    if not isinstance(data, dict):
        raise ApiError(422, f"the body must be a JSON object, not {type(data).__name__}", hint=hint)
    return data


def _expected(if_match: str | None, expected_version: int | None) -> int | None:
    """The version the client edited, from ``If-Match`` or ``expected_version`` (or None)."""
    from_header: int | None = None
    if if_match is not None and if_match.strip() != "*":
        tag = if_match.strip().removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise ApiError(
                422,
                f"If-Match {if_match!r} is not a version",
                details=[f'If-Match: expected a version number like "3", got {if_match!r}'],
                hint="send the ETag of GET /api/v1/alert-types/{key}, or leave If-Match out",
            )
        from_header = int(tag)
    if from_header is not None and expected_version not in (None, from_header):
        raise ApiError(
            422,
            "If-Match and expected_version disagree",
            details=[f"If-Match: {from_header} but expected_version: {expected_version}"],
            hint="send only one of them",
        )
    return from_header if from_header is not None else expected_version


def _current(row: AlertType, response: Response | None = None) -> AlertTypeCurrent:
    if response is not None:
        response.headers["ETag"] = f'"{row.version}"'
    return AlertTypeCurrent(
        key=row.key,
        spec=row.spec,
        version=row.version,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


async def _not_found(session: AsyncSession, key: str) -> ApiError:
    known = await list_keys(session=session)
    return ApiError(
        404,
        f"no alert type {key!r}; known: {', '.join(known) or 'none'}",
        hint=f"use one of the known keys, or create it with POST {BASE}",
        known=known,
    )


async def _existing(session: AsyncSession, key: str) -> AlertType:
    row = await get_row(session, key)
    if row is None:
        raise await _not_found(session, key)
    return row


def _conflict(row: AlertType, expected: int) -> ApiError:
    return ApiError(
        409,
        f"alert type {row.key} was changed meanwhile: you edited version {expected}, it is now "
        f"at version {row.version} (by {row.updated_by or 'unknown'})",
        details=[f"version: expected {expected}, current {row.version}"],
        hint=f"GET {BASE}/{row.key}, apply your change to the current version and send it again",
        current_version=row.version,
        updated_by=row.updated_by,
        updated_at=row.updated_at.isoformat(),
    )


def _with_key(data: dict[str, JsonValue], key: str) -> dict[str, JsonValue]:
    """``data`` naming ``key`` (taken from the path when absent); 422 if it names another."""
    named = data.get("key", key)
    if named != key:
        raise ApiError(
            422,
            f"alert type {key} not saved",
            details=[f"key: the body names {named!r} but the path names {key!r}"],
            hint=f"keys never change: send key {key!r} or leave it out; to make a new alert "
            f"type, POST {BASE}",
        )
    return {**data, "key": key}


async def _save(
    session: AsyncSession,
    key: str,
    data: dict[str, JsonValue],
    *,
    actor: str,
    note: str,
    expected: int | None = None,
    create: bool = False,
) -> AlertType:
    """Store ``data`` as the next version of ``key`` (or its first, with ``create``)."""
    if not create:
        row = await _existing(session, key)
        if expected is not None and expected != row.version:
            raise _conflict(row, expected)
    try:
        return await save_version(
            session=session,
            data=data,
            actor=actor,
            note=note,
            create=create,
            expected_version=expected,
        )
    except AlertTypeError as exc:
        current = await get_row(session, key)
        conflict = any(line.startswith("version:") for line in exc.lines)
        if current is not None and expected is not None and conflict:
            raise _conflict(current, expected) from exc
        raise ApiError(
            422,
            f"alert type {key} not saved",
            details=exc.lines,
            hint="correct the fields named in details and send the whole specification again",
        ) from exc
    except SimultaneousSave as exc:
        raise ApiError(409, str(exc), hint=f"GET {BASE}/{key} and apply your change again") from exc
    except LookupError as exc:
        if create:
            raise ApiError(
                409,
                f"alert type {key} already exists",
                hint=f"change it with PUT {BASE}/{key}, or choose another key",
            ) from exc
        raise await _not_found(session, key) from exc


def _merge(base: dict[str, JsonValue], patch: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """JSON merge patch (RFC 7396): objects merge recursively, other values replace, null
    removes the field."""
    merged = dict(base)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, dict) and isinstance(current := merged.get(name), dict):
            merged[name] = _merge(current, value)
        else:
            merged[name] = value
    return merged


def _version_summary(v: AlertTypeVersion) -> VersionSummary:
    return VersionSummary(
        version=v.version, changed_by=v.changed_by, note=v.note, created_at=v.created_at
    )


@router.get("/alert-types")
async def list_alert_types(deps: DepsDep) -> list[AlertTypeSummary]:
    """Every alert type (the default catalogue on a fresh install), by key."""
    async with _session(deps) as session:
        rows = await list_rows(session=session)
    return [
        AlertTypeSummary(
            key=r.key,
            name=r.name,
            enabled=r.enabled,
            version=r.version,
            category=r.spec.get("category"),
            priority=r.spec.get("priority"),
            mandatory=r.spec.get("mandatory"),
            updated_by=r.updated_by,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


@router.get("/alert-types/{key}")
async def get_alert_type(key: KeyPath, deps: DepsDep, response: Response) -> AlertTypeCurrent:
    """The current specification; its ETag is the version to send back in ``If-Match``."""
    async with _session(deps) as session:
        return _current(await _existing(session, key), response)


@router.put(
    "/alert-types/{key}",
    openapi_extra=_SPEC_BODY,
    responses=error_responses(409),
    dependencies=[Depends(require("publish"))],
)
async def put_alert_type(
    key: KeyPath,
    request: Request,
    response: Response,
    deps: DepsDep,
    actor: ActorDep,
    if_match: IfMatchHeader = None,
    expected_version: ExpectedVersion = None,
    note: Note = "",
) -> AlertTypeCurrent:
    """Replace the whole specification; stored as the next version."""
    data = _with_key(await _json_object(request), key)
    expected = _expected(if_match, expected_version)
    async with _session(deps) as session:
        row = await _save(session, key, data, actor=actor, note=note, expected=expected)
        return _current(row, response)


@router.patch(
    "/alert-types/{key}",
    openapi_extra=_PATCH_BODY,
    responses=error_responses(409),
    dependencies=[Depends(require("publish"))],
)
async def patch_alert_type(
    key: KeyPath,
    request: Request,
    response: Response,
    deps: DepsDep,
    actor: ActorDep,
    if_match: IfMatchHeader = None,
    expected_version: ExpectedVersion = None,
    note: Note = "",
) -> AlertTypeCurrent:
    """Change some fields, e.g. ``{"enabled": false}`` or
    ``{"trigger": {"condition": "event.amount >= 1000"}}``; stored as the next version."""
    patch = _with_key(await _json_object(request), key)
    expected = _expected(if_match, expected_version)
    async with _session(deps) as session:
        row = await _existing(session, key)
        if expected is not None and expected != row.version:
            raise _conflict(row, expected)
        data = _merge(row.spec, patch)
        saved = await _save(
            session, key, data, actor=actor, note=note, expected=expected or row.version
        )
        return _current(saved, response)


@router.post(
    "/alert-types",
    status_code=201,
    openapi_extra=_SPEC_BODY,
    responses=error_responses(409),
    dependencies=[Depends(require("publish"))],
)
async def create_alert_type(
    request: Request,
    response: Response,
    deps: DepsDep,
    actor: ActorDep,
    note: Note = "",
) -> AlertTypeCurrent:
    """A new alert type, stored as version 1."""
    data = await _json_object(request)
    key = data.get("key")
    if not isinstance(key, str) or not key.strip():
        raise ApiError(
            422,
            "alert type not saved",
            details=["key: required, e.g. 'card_expiring' (lower-case letters, digits, _)"],
            hint="give the new alert type a key; it cannot be changed later",
        )
    key = key.strip()
    async with _session(deps) as session:
        row = await _save(session, key, {**data, "key": key}, actor=actor, note=note, create=True)
        response.headers["Location"] = f"{BASE}/{key}"
        return _current(row, response)


@router.get("/alert-types/{key}/versions")
async def list_versions(key: KeyPath, deps: DepsDep) -> list[VersionSummary]:
    """Every saved version, newest first."""
    async with _session(deps) as session:
        await _existing(session, key)
        return [_version_summary(v) for v in await versions(session, key)]


async def _version(session: AsyncSession, key: str, number: int) -> AlertTypeVersion:
    await _existing(session, key)
    stored = await versions(session, key)
    for v in stored:
        if v.version == number:
            return v
    known = sorted(v.version for v in stored)
    raise ApiError(
        404,
        f"alert type {key} has no version {number}; it has {', '.join(map(str, known))}",
        hint=f"GET {BASE}/{key}/versions lists them",
        known=known,
    )


@router.get("/alert-types/{key}/versions/{number}")
async def get_version(key: KeyPath, number: VersionPath, deps: DepsDep) -> VersionOut:
    """One saved version's specification, as it was."""
    async with _session(deps) as session:
        v = await _version(session, key, number)
    return VersionOut(key=key, spec=v.spec, **_version_summary(v).model_dump())


@router.post(
    "/alert-types/{key}/versions/{number}/restore",
    responses=error_responses(409),
    dependencies=[Depends(require("publish"))],
)
async def restore_version(
    key: KeyPath,
    number: VersionPath,
    response: Response,
    deps: DepsDep,
    actor: ActorDep,
    if_match: IfMatchHeader = None,
    expected_version: ExpectedVersion = None,
    note: Note = "",
) -> AlertTypeCurrent:
    """Save version ``number``'s specification again, as the newest version."""
    expected = _expected(if_match, expected_version)
    async with _session(deps) as session:
        old = await _version(session, key, number)
        why = f"restored version {number}" + (f": {note}" if note else "")
        row = await _save(session, key, dict(old.spec), actor=actor, note=why, expected=expected)
        return _current(row, response)
