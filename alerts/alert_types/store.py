"""Alert types as rows: the default catalogue seeded once, every change a new stored version.

The current specification of each alert type lives in ``alert_types.spec`` (the JSON of a
``rules.alert_types.AlertTypeSpec``); every version ever saved, the first included, is kept in
``alert_type_versions``. Seeding adds catalogue types that are missing and never touches a type
an administrator has changed. Saving validates the specification the way the rules read it and
renders every template with long sample values, so a broken template or an SMS over its segment
limit is refused at edit time, not discovered at send time.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import lru_cache

from pydantic import JsonValue, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.alert_types.content import check_spec_content
from alerts.columns import utcnow
from alerts.models import AlertType, AlertTypeVersion
from rules.alert_types import AlertTypeSpec, describe_error
from rules.catalogue import default_catalogue

logger = logging.getLogger(__name__)


class AlertTypeError(ValueError):
    """A specification was refused; ``lines`` say which field and why, one per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def validate_spec(data: object) -> AlertTypeSpec:
    """``data`` as a spec whose templates all render (AlertTypeError with every problem)."""
    try:
        spec = AlertTypeSpec.model_validate(data)
    except ValidationError as exc:
        raise AlertTypeError(describe_error(exc)) from exc
    problems = check_spec_content(spec)
    if problems:
        raise AlertTypeError(problems)
    return spec


async def seed_catalogue(session: AsyncSession, *, actor: str = "catalogue") -> list[str]:
    """Insert the catalogue's alert types that are not there yet; returns the keys added."""
    existing = set((await session.exec(select(AlertType.key))).all())
    added: list[str] = []
    for spec in default_catalogue():
        if spec.key in existing:
            continue
        try:
            async with session.begin_nested():
                _store(session, None, spec.model_copy(update={"version": 1}), actor, "default")
                await session.flush()
        except IntegrityError:  # another process seeded it first
            continue
        added.append(spec.key)
    await session.commit()
    if added:
        logger.info("alert types seeded from the catalogue: %s", ", ".join(added))
    return added


def _store(
    session: AsyncSession, row: AlertType | None, spec: AlertTypeSpec, actor: str, note: str
) -> AlertType:
    data = spec.as_json()
    now = utcnow()
    row = row or AlertType(key=spec.key, name=spec.name)
    row.name, row.enabled, row.version = spec.name, spec.enabled, spec.version
    row.spec, row.updated_by, row.updated_at = data, actor, now
    session.add(row)
    session.add(
        AlertTypeVersion(
            key=spec.key,
            version=spec.version,
            spec=data,
            changed_by=actor,
            note=note[:500],
            created_at=now,
        )
    )
    return row


async def get_row(session: AsyncSession, key: str) -> AlertType | None:
    return (await session.exec(select(AlertType).where(AlertType.key == key))).first()


def stored_spec(data: object) -> AlertTypeSpec:
    """A spec as stored: saved before conditions were type-checked, it keeps running as it
    did (rule-engine's own checks); a new save is checked in full (validate_spec).

    Validating a spec parses every template of every language (tens of milliseconds), and
    each webhook of a call needs its alert's spec: a spec is validated once per distinct
    stored document (the specs are frozen, so one object serves every caller)."""
    try:
        document = json.dumps(data, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):  # not a stored JSON document: validate it as it is
        return AlertTypeSpec.model_validate(data, context={"stored": True})
    return _validated(document)


@lru_cache(maxsize=256)
def _validated(document: str) -> AlertTypeSpec:
    return AlertTypeSpec.model_validate(json.loads(document), context={"stored": True})


async def get_spec(session: AsyncSession, key: str) -> AlertTypeSpec | None:
    row = await get_row(session, key)
    return stored_spec(row.spec) if row and row.spec else None


# Validated specs by (key, version, saved at): a reader that has those two columns of the type's
# row (joined to what it read anyway) needs neither the document nor its hash; every save is a
# new version and a new time (``_store``), so a changed type is never served from here.
_AS_SAVED: dict[tuple[str, int, datetime], AlertTypeSpec] = {}
_AS_SAVED_KEPT = 256


async def spec_as_saved(
    session: AsyncSession, key: str, version: int, saved_at: datetime
) -> AlertTypeSpec | None:
    """The alert type ``key`` as saved at ``version`` and ``saved_at`` (read once per process
    and save)."""
    kept = _AS_SAVED.get((key, version, saved_at))
    if kept is not None:
        return kept
    row = await get_row(session, key)
    spec = stored_spec(row.spec) if row and row.spec else None
    same = row is not None and (row.version, row.updated_at) == (version, saved_at)
    if spec is not None and same:  # not saved again in between
        if len(_AS_SAVED) >= _AS_SAVED_KEPT:
            _AS_SAVED.clear()
        _AS_SAVED[key, version, saved_at] = spec
    return spec


async def load_specs(session: AsyncSession) -> list[AlertTypeSpec]:
    """Every stored alert type (seeding the catalogue first), highest priority first."""
    await seed_catalogue(session)
    specs = []
    for row in (await session.exec(select(AlertType).order_by(col(AlertType.key)))).all():
        try:
            specs.append(stored_spec(row.spec))
        except ValidationError as exc:  # only possible if someone edited the table by hand
            logger.error("alert type %s is unreadable and ignored: %s", row.key, exc)
    return sorted(specs, key=lambda s: (-s.priority, s.key))


async def save_spec(
    session: AsyncSession,
    data: dict[str, JsonValue],
    *,
    actor: str,
    note: str = "",
    create: bool = False,
    expected_version: int | None = None,
) -> AlertTypeSpec:
    """Validate and store a new version of an alert type (or a new one with ``create``).

    The version number is assigned here (current + 1); ``expected_version``, when given, must
    be the current version, so two administrators editing at once cannot silently overwrite
    each other. LookupError if the type does not exist (or, with ``create``, already does).
    """
    key = str(data.get("key", ""))
    row = await get_row(session, key)
    if create and row is not None:
        raise LookupError(f"an alert type {key!r} already exists; change it with PUT")
    if not create and row is None:
        raise LookupError(f"no alert type {key!r}")
    current = row.version if row else 0
    if expected_version is not None and expected_version != current:
        raise AlertTypeError(
            [
                f"version: you edited version {expected_version} but {key} is now at version "
                f"{current} (changed by {row.updated_by if row else '?'}); reload and apply "
                "your change again"
            ]
        )
    spec = validate_spec({**data, "version": current + 1})
    before = dict(row.spec) if row else None
    _store(session, row, spec, actor, note)
    audit.record(
        session,
        kind="alert_type",
        entity_id=key,
        action=_audit_action(before, spec),
        before=before,
        after=spec.as_json(),
    )
    await session.commit()
    logger.info("alert type %s saved as version %s by %s", key, spec.version, actor)
    return spec


async def versions(session: AsyncSession, key: str) -> list[AlertTypeVersion]:
    return list(
        (
            await session.exec(
                select(AlertTypeVersion)
                .where(AlertTypeVersion.key == key)
                .order_by(col(AlertTypeVersion.version).desc())
            )
        ).all()
    )


class SimultaneousSave(Exception):
    """Another request saved the same version (or created the same key) at the same moment."""

    def __init__(self, key: str) -> None:
        super().__init__(f"alert type {key} was changed by another request at the same moment")
        self.key = key


async def list_rows(*, session: AsyncSession) -> list[AlertType]:
    """Every stored alert type, by key."""
    return list((await session.exec(select(AlertType).order_by(col(AlertType.key)))).all())


async def list_keys(*, session: AsyncSession) -> list[str]:
    """The keys of the stored alert types, sorted."""
    return list((await session.exec(select(AlertType.key).order_by(col(AlertType.key)))).all())


def _audit_action(before: dict[str, JsonValue] | None, spec: AlertTypeSpec) -> str:
    if before is None:
        return "create"
    if bool(before.get("enabled", True)) != spec.enabled:
        return "enable" if spec.enabled else "disable"
    return "save"


async def save_version(
    *,
    session: AsyncSession,
    data: dict[str, JsonValue],
    actor: str,
    note: str = "",
    create: bool = False,
    expected_version: int | None = None,
) -> AlertType:
    """``save_spec``, returning the row as now stored. SimultaneousSave (rolled back) when
    another request stored the same version first; AlertTypeError and LookupError as there."""
    key = str(data.get("key", ""))
    try:
        await save_spec(
            session,
            data,
            actor=actor,
            note=note,
            create=create,
            expected_version=expected_version,
        )
    except IntegrityError as exc:
        await session.rollback()
        raise SimultaneousSave(key) from exc
    row = await get_row(session, key)
    if row is None:  # pragma: no cover - deleted between the commit and this read
        raise LookupError(f"no alert type {key!r}")
    return row
