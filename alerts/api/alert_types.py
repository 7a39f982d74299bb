"""HTTP API for alert types as versioned data: list, read, replace, patch, create, history.

Every change is a new stored version (``alerts.alert_types.store.save_spec``); history is never
rewritten, a restore saves the old specification again as the newest version. Optimistic
concurrency: send the version you edited as ``If-Match: "3"`` (the ETag of GET) or
``?expected_version=3``, and an edit made meanwhile by someone else is refused with 409 instead of
silently overwritten. Every error is JSON: ``detail`` (what was wrong), ``errors`` (one line per
field, "field: problem") and ``hint`` (what to do).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from alerts.alert_types.store import AlertTypeError, get_row, save_spec, seed_catalogue, versions
from alerts.api.deps import DepsDep, require_token
from alerts.deps import AlertDeps
from alerts.models import AlertType, AlertTypeVersion
from rules.alert_types import describe_error

logger = logging.getLogger(__name__)

BASE = "/api/v1/alert-types"
DEFAULT_ACTOR = "api"


class Refused(Exception):
    """A request this API turns down: rendered as JSON with ``detail``, ``errors`` and ``hint``."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[str] | None = None,
        hint: str = "",
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.hint, self.extra = (
            status,
            detail,
            errors or [],
            hint,
            extra,
        )

    def response(self) -> JSONResponse:
        body = {"detail": self.detail, "errors": self.errors, "hint": self.hint, **self.extra}
        return JSONResponse(body, status_code=self.status)


class _JSONErrorsRoute(APIRoute):
    """Turns every failure of these routes into a JSON answer (never a bare traceback)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Refused as exc:
                return exc.response()
            except RequestValidationError as exc:
                return Refused(
                    422,
                    "the request's parameters are not valid",
                    errors=describe_error(exc),
                    hint="correct the parameters named in errors and send the request again",
                ).response()
            except StarletteHTTPException:  # 401 from require_token: FastAPI renders it
                raise
            except SQLAlchemyError:
                logger.exception("alert types API: database error on %s", request.url.path)
                return Refused(
                    503,
                    "the database is unavailable",
                    hint="try again in a moment; if it persists, check the database server",
                ).response()
            except Exception:
                logger.exception("alert types API: unexpected error on %s", request.url.path)
                return Refused(
                    500,
                    "internal error while handling the alert type request",
                    hint="nothing was changed unless a later GET shows it; the server log has "
                    "the details",
                ).response()

        return guarded


router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(require_token)],
    tags=["alert types"],
    route_class=_JSONErrorsRoute,
)

ActorHeader = Annotated[
    str | None, Header(alias="X-Herald-Actor", description="who made the change (default: api)")
]
IfMatchHeader = Annotated[
    str | None,
    Header(alias="If-Match", description='the version you edited, as in the ETag: "3"'),
]
ExpectedVersion = Annotated[
    int | None,
    Query(ge=1, description="the version you edited; refused with 409 if it is no longer current"),
]
Note = Annotated[str, Query(description="why the change was made (kept with the version)")]

_SPEC_BODY: dict[str, Any] = {
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
_PATCH_BODY: dict[str, Any] = {
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


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    hint = "send a JSON object with Content-Type: application/json"
    if not raw.strip():
        raise Refused(422, "the request has no body", hint=hint)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise Refused(422, f"the body is not valid JSON: {exc}", hint=hint) from exc
    if not isinstance(data, dict):
        raise Refused(422, f"the body must be a JSON object, not {type(data).__name__}", hint=hint)
    return data


def _actor(header: str | None) -> str:
    return (header or "").strip()[:100] or DEFAULT_ACTOR


def _expected(if_match: str | None, expected_version: int | None) -> int | None:
    """The version the client edited, from ``If-Match`` or ``expected_version`` (or None)."""
    from_header: int | None = None
    if if_match is not None and if_match.strip() != "*":
        tag = if_match.strip().removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise Refused(
                422,
                f"If-Match {if_match!r} is not a version",
                errors=[f'If-Match: expected a version number like "3", got {if_match!r}'],
                hint="send the ETag of GET /api/v1/alert-types/{key}, or leave If-Match out",
            )
        from_header = int(tag)
    if from_header is not None and expected_version not in (None, from_header):
        raise Refused(
            422,
            "If-Match and expected_version disagree",
            errors=[f"If-Match: {from_header} but expected_version: {expected_version}"],
            hint="send only one of them",
        )
    return from_header if from_header is not None else expected_version


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _current(row: AlertType, response: Response | None = None) -> dict[str, Any]:
    if response is not None:
        response.headers["ETag"] = f'"{row.version}"'
    return {
        "key": row.key,
        "spec": row.spec,
        "version": row.version,
        "updated_by": row.updated_by,
        "updated_at": _when(row.updated_at),
    }


async def _known_keys(session: AsyncSession) -> list[str]:
    return list((await session.exec(select(AlertType.key).order_by(col(AlertType.key)))).all())


async def _not_found(session: AsyncSession, key: str) -> Refused:
    known = await _known_keys(session)
    return Refused(
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


def _conflict(row: AlertType, expected: int) -> Refused:
    return Refused(
        409,
        f"alert type {row.key} was changed meanwhile: you edited version {expected}, it is now "
        f"at version {row.version} (by {row.updated_by or 'unknown'})",
        errors=[f"version: expected {expected}, current {row.version}"],
        hint=f"GET {BASE}/{row.key}, apply your change to the current version and send it again",
        current_version=row.version,
        updated_by=row.updated_by,
        updated_at=_when(row.updated_at),
    )


def _with_key(data: dict[str, Any], key: str) -> dict[str, Any]:
    """``data`` naming ``key`` (taken from the path when absent); 422 if it names another."""
    named = data.get("key", key)
    if named != key:
        raise Refused(
            422,
            f"alert type {key} not saved",
            errors=[f"key: the body names {named!r} but the path names {key!r}"],
            hint=f"keys never change: send key {key!r} or leave it out; to make a new alert "
            f"type, POST {BASE}",
        )
    return {**data, "key": key}


async def _save(
    session: AsyncSession,
    key: str,
    data: dict[str, Any],
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
        await save_spec(
            session, data, actor=actor, note=note, create=create, expected_version=expected
        )
    except AlertTypeError as exc:
        current = await get_row(session, key)
        conflict = any(line.startswith("version:") for line in exc.lines)
        if current is not None and expected is not None and conflict:
            raise _conflict(current, expected) from exc
        raise Refused(
            422,
            f"alert type {key} not saved",
            errors=exc.lines,
            hint="correct the fields named in errors and send the whole specification again",
        ) from exc
    except LookupError as exc:
        if create:
            raise Refused(
                409,
                f"alert type {key} already exists",
                hint=f"change it with PUT {BASE}/{key}, or choose another key",
            ) from exc
        raise await _not_found(session, key) from exc
    except IntegrityError as exc:  # another request saved the same version (or key) first
        await session.rollback()
        raise Refused(
            409,
            f"alert type {key} was changed by another request at the same moment",
            hint=f"GET {BASE}/{key} and apply your change again",
        ) from exc
    return await _existing(session, key)


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge patch (RFC 7396): objects merge recursively, other values replace, null
    removes the field."""
    merged = dict(base)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = _merge(merged[name], value)
        else:
            merged[name] = value
    return merged


def _version_summary(v: AlertTypeVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "changed_by": v.changed_by,
        "note": v.note,
        "created_at": _when(v.created_at),
    }


@router.get("/alert-types")
async def list_alert_types(deps: DepsDep) -> list[dict[str, Any]]:
    """Every alert type (the default catalogue on a fresh install), by key."""
    async with _session(deps) as session:
        rows = (await session.exec(select(AlertType).order_by(col(AlertType.key)))).all()
    return [
        {
            "key": r.key,
            "name": r.name,
            "enabled": r.enabled,
            "version": r.version,
            "category": r.spec.get("category"),
            "priority": r.spec.get("priority"),
            "mandatory": r.spec.get("mandatory"),
            "updated_by": r.updated_by,
            "updated_at": _when(r.updated_at),
        }
        for r in rows
    ]


@router.get("/alert-types/{key}")
async def get_alert_type(key: str, deps: DepsDep, response: Response) -> dict[str, Any]:
    """The current specification; its ETag is the version to send back in ``If-Match``."""
    async with _session(deps) as session:
        return _current(await _existing(session, key), response)


@router.put("/alert-types/{key}", openapi_extra=_SPEC_BODY)
async def put_alert_type(
    key: str,
    request: Request,
    response: Response,
    deps: DepsDep,
    actor: ActorHeader = None,
    if_match: IfMatchHeader = None,
    expected_version: ExpectedVersion = None,
    note: Note = "",
) -> dict[str, Any]:
    """Replace the whole specification; stored as the next version."""
    data = _with_key(await _json_object(request), key)
    expected = _expected(if_match, expected_version)
    async with _session(deps) as session:
        row = await _save(session, key, data, actor=_actor(actor), note=note, expected=expected)
        return _current(row, response)


@router.patch("/alert-types/{key}", openapi_extra=_PATCH_BODY)
async def patch_alert_type(
    key: str,
    request: Request,
    response: Response,
    deps: DepsDep,
    actor: ActorHeader = None,
    if_match: IfMatchHeader = None,
    expected_version: ExpectedVersion = None,
    note: Note = "",
) -> dict[str, Any]:
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
            session, key, data, actor=_actor(actor), note=note, expected=expected or row.version
        )
        return _current(saved, response)


@router.post("/alert-types", status_code=201, openapi_extra=_SPEC_BODY)
async def create_alert_type(
    request: Request,
    response: Response,
    deps: DepsDep,
    actor: ActorHeader = None,
    note: Note = "",
) -> dict[str, Any]:
    """A new alert type, stored as version 1."""
    data = await _json_object(request)
    key = data.get("key")
    if not isinstance(key, str) or not key.strip():
        raise Refused(
            422,
            "alert type not saved",
            errors=["key: required, e.g. 'card_expiring' (lower-case letters, digits, _)"],
            hint="give the new alert type a key; it cannot be changed later",
        )
    key = key.strip()
    async with _session(deps) as session:
        row = await _save(
            session, key, {**data, "key": key}, actor=_actor(actor), note=note, create=True
        )
        response.headers["Location"] = f"{BASE}/{key}"
        return _current(row, response)


@router.get("/alert-types/{key}/versions")
async def list_versions(key: str, deps: DepsDep) -> list[dict[str, Any]]:
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
    raise Refused(
        404,
        f"alert type {key} has no version {number}; it has {', '.join(map(str, known))}",
        hint=f"GET {BASE}/{key}/versions lists them",
        known=known,
    )


@router.get("/alert-types/{key}/versions/{number}")
async def get_version(key: str, number: int, deps: DepsDep) -> dict[str, Any]:
    """One saved version's specification, as it was."""
    async with _session(deps) as session:
        v = await _version(session, key, number)
    return {"key": key, "spec": v.spec, **_version_summary(v)}


@router.post("/alert-types/{key}/versions/{number}/restore")
async def restore_version(
    key: str,
    number: int,
    response: Response,
    deps: DepsDep,
    actor: ActorHeader = None,
    if_match: IfMatchHeader = None,
    expected_version: ExpectedVersion = None,
    note: Note = "",
) -> dict[str, Any]:
    """Save version ``number``'s specification again, as the newest version."""
    expected = _expected(if_match, expected_version)
    async with _session(deps) as session:
        old = await _version(session, key, number)
        why = f"restored version {number}" + (f": {note}" if note else "")
        row = await _save(
            session, key, dict(old.spec), actor=_actor(actor), note=why, expected=expected
        )
        return _current(row, response)
