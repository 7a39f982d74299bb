"""Customers: import from CSV/JSON with row-level errors, creation and lookup."""

from __future__ import annotations

import asyncio
import csv
import gc
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, Field, JsonValue, ValidationError, field_validator
from sqlalchemy.dialects import sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import among, recordset_insert, utcnow
from alerts.models import Account, ContactPoint, Customer

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHANNELS = ("voice", "sms", "email")


def iana_zone(value: str) -> str:
    """`value` if it names an IANA time zone, else a ValueError saying what is expected."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Amsterdam)") from exc
    return value


IanaZone = Annotated[str, Field(max_length=64), AfterValidator(iana_zone)]


class CustomerIn(BaseModel):
    """One customer as integrators send it (API body, a JSON item or a CSV row)."""

    external_ref: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    locale: str = Field(default="en", min_length=2, max_length=20)
    timezone: IanaZone = "UTC"
    accounts: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=100
    )
    phones: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    emails: list[Annotated[str, Field(max_length=254)]] = Field(default_factory=list, max_length=20)
    channel_order: list[Annotated[str, Field(max_length=20)]] = Field(
        default_factory=lambda: list(CHANNELS), max_length=10
    )
    segment: str = Field(default="", max_length=40)  # e.g. retail, private, business, staff
    attributes: dict[
        Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=1000)]
    ] = Field(default_factory=dict, max_length=100)
    # Where the consent to contact these phones and emails came from (recorded per contact).
    consent_source: str = Field(default="import", min_length=1, max_length=40)

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, values: list[str]) -> list[str]:
        return [v.replace(" ", "").upper() for v in values if v.strip()]

    @field_validator("phones")
    @classmethod
    def _phones(cls, values: list[str]) -> list[str]:
        out = []
        for v in values:
            v = v.strip().replace(" ", "")
            if not E164.match(v):
                raise ValueError(f"phone {v!r} is not in E.164 form (e.g. +31201234567)")
            out.append(v)
        return out

    @field_validator("emails")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        out = []
        for v in values:
            v = v.strip()
            if not EMAIL.match(v):
                raise ValueError(f"email {v!r} is not an email address")
            out.append(v.lower())
        return out

    @field_validator("channel_order")
    @classmethod
    def _order(cls, values: list[str]) -> list[str]:
        values = [v.strip().lower() for v in values if v.strip()]
        bad = [v for v in values if v not in CHANNELS]
        if bad:
            raise ValueError(f"unknown channel(s) {bad}; use {', '.join(CHANNELS)}")
        if len(set(values)) != len(values):
            raise ValueError("a channel is listed twice")
        return values


class RowError(TypedDict):
    """A row that was not imported: its number (as a person counts) and why."""

    row: int
    error: str


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


_SEPARATORS = re.compile(r"[;|]")


def _split(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value)
    if ";" not in text and "|" not in text:  # one value: most cells of a customer file
        return [text] if text.strip() else []
    return [p for p in _SEPARATORS.split(text) if p.strip()]


def read_rows(path: Path) -> list[tuple[int, dict[str, JsonValue]]]:
    """Rows of a CSV or JSON customer file, numbered as a person would count them (raw: each
    is validated as a CustomerIn by the importer)."""
    return list(iter_rows(path))


def iter_rows(path: Path) -> Iterator[tuple[int, dict[str, JsonValue]]]:
    """``read_rows`` one row at a time: a CSV file is read as it goes, so a bank's customer file
    of any size takes the memory of one batch (a JSON file is one document, read whole)."""
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        if isinstance(data, dict):
            data = data.get("customers", [])
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of customers")
        yield from ((i, dict(item)) for i, item in enumerate(data, start=1))
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        row_no = 1  # numbered as a spreadsheet numbers rows: the header is row 1
        try:
            for row in reader:
                row_no += 1
                yield row_no, _clean(row)
        except csv.Error as exc:
            raise ValueError(f"row {row_no + 1}: {exc}") from exc


def _clean(row: dict[str, Any]) -> dict[str, JsonValue]:
    clean: dict[str, JsonValue] = {k.strip(): v for k, v in row.items() if k}
    for key in ("accounts", "phones", "emails", "channel_order"):
        clean[key] = list[JsonValue](_split(clean.get(key)))
    pairs = (p.partition("=") for p in _split(clean.get("attributes")) if "=" in p)
    clean["attributes"] = dict[str, JsonValue]((name, value) for name, _, value in pairs)
    if not clean.get("segment"):
        clean.pop("segment", None)
    return clean


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


async def upsert_customer(*, session: AsyncSession, data: CustomerIn) -> tuple[Customer, bool]:
    """Create or update a customer with its accounts and contact points; True if created."""
    customer = (
        await session.exec(select(Customer).where(Customer.external_ref == data.external_ref))
    ).first()
    created = customer is None
    if customer is None:
        customer = Customer(external_ref=data.external_ref, name=data.name)
    customer.name = data.name
    customer.locale = data.locale
    customer.timezone = data.timezone
    customer.channel_order = list(data.channel_order)
    customer.segment = data.segment
    customer.attributes = dict(data.attributes)
    session.add(customer)
    await session.flush()
    assert customer.id is not None
    for account_id in data.accounts:
        owner = (
            await session.exec(select(Account).where(Account.account_id == account_id))
        ).first()
        if owner is None:
            session.add(Account(customer_id=customer.id, account_id=account_id))
        elif owner.customer_id != customer.id:
            raise ValueError(f"account {account_id} already belongs to another customer")
    existing = {
        (c.kind, c.address)
        for c in (
            await session.exec(select(ContactPoint).where(ContactPoint.customer_id == customer.id))
        ).all()
    }
    for kind, addresses in (("phone", data.phones), ("email", data.emails)):
        for address in addresses:
            if (kind, address) not in existing:
                session.add(
                    ContactPoint(
                        customer_id=customer.id,
                        kind=kind,
                        address=address,
                        consent_source=data.consent_source,
                        consent_at=utcnow(),
                    )
                )
    await session.flush()
    return customer, created


IMPORT_BATCH = 1000  # rows validated, checked and upserted together


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector run less often while a file is imported. An import
    allocates a dozen objects per cell (rows, validated models, statement rows) and frees
    nearly all of them by reference counting; at Python's default threshold (700 allocations)
    the collector walked the young objects ~30 times per batch, two fifths of the import's CPU
    (55 against 92 us per row on PostgreSQL, ``benchmarks.customer_import``). Cycles are still
    collected, at the same points of the next generations, and the threshold is put back after."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 50_000), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


async def import_customers(
    *, session: AsyncSession, path: Path, batch: int = IMPORT_BATCH
) -> ImportReport:
    """Import every good row and report bad ones by row number, in batches: each batch's
    customers, accounts and contact points are upserted in a few statements (INSERT ... ON
    CONFLICT) instead of a savepoint and several queries per row. A row is validated as
    ``CustomerIn`` exactly as before; a row whose account belongs to another customer (already,
    or to an earlier row of the file) is reported and changes nothing; a reference seen twice
    is upserted twice, in file order. Committed once at the end, as before."""
    report = ImportReport()
    writer = _BatchWriter(session, report)
    pending: list[tuple[int, CustomerIn]] = []
    refs: set[str] = set()
    with _fewer_collections():
        try:
            for row_no, raw in iter_rows(path):
                try:
                    data = CustomerIn.model_validate(raw)
                except ValidationError as exc:
                    report.errors.append({"row": row_no, "error": describe(exc)})
                    continue
                if len(pending) >= batch or data.external_ref in refs:
                    await writer.write(pending)
                    pending, refs = [], set()
                pending.append((row_no, data))
                refs.add(data.external_ref)
                if row_no % 64 == 0:
                    await writer.let_run()
            await writer.write(pending)
            await writer.finish()
        finally:
            await writer.abandon()
    report.errors.sort(key=lambda e: e["row"])
    await session.commit()
    return report


class _BatchWriter:
    """Writes batches one after the other while the importer validates the next: the batch's
    statements run as a task, and the importer lets the event loop move it on every few rows,
    so PostgreSQL's work on one batch and Python's on the next overlap (on SQLite the driver's
    thread does the same). One batch is written at a time, in file order, in one session."""

    def __init__(self, session: AsyncSession, report: ImportReport) -> None:
        self.session, self.report = session, report
        self.task: asyncio.Task[None] | None = None

    async def write(self, rows: list[tuple[int, CustomerIn]]) -> None:
        await self.finish()
        if rows:
            self.task = asyncio.create_task(_upsert_batch(self.session, rows, self.report))

    async def let_run(self) -> None:
        if self.task is not None and not self.task.done():
            await asyncio.sleep(0)

    async def finish(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            await task

    async def abandon(self) -> None:
        """After an error: the batch being written ends before the session is rolled back (it
        is not cancelled mid-statement, which would leave the connection in doubt)."""
        task, self.task = self.task, None
        if task is not None:
            with suppress(Exception):
                await task


async def _upsert_batch(
    session: AsyncSession, rows: list[tuple[int, CustomerIn]], report: ImportReport
) -> None:
    """Upsert one batch of validated rows (distinct references) into ``report``."""
    if not rows:
        return
    dialect = _dialect(session)
    refs = [data.external_ref for _, data in rows]
    known = dict(
        (
            await session.exec(
                select(Customer.external_ref, Customer.id).where(
                    among(dialect, col(Customer.external_ref), refs)
                )
            )
        ).all()
    )
    accounts = {a for _, data in rows for a in data.accounts}
    owners = dict(
        (
            await session.exec(
                select(Account.account_id, Customer.external_ref)
                .join(Customer, col(Customer.id) == col(Account.customer_id))
                .where(among(dialect, col(Account.account_id), accounts))
            )
        ).all()
    )
    good: list[CustomerIn] = []
    for row_no, data in rows:
        taken = [a for a in data.accounts if owners.get(a, data.external_ref) != data.external_ref]
        if taken:
            error = f"account {taken[0]} already belongs to another customer"
            report.errors.append({"row": row_no, "error": error})
            continue
        owners.update(dict.fromkeys(data.accounts, data.external_ref))
        good.append(data)
        if data.external_ref in known:
            report.updated += 1
        else:
            report.imported += 1
    if good:
        await _write_batch(session, good)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


_CUSTOMERS: sa.Table = Customer.__table__  # type: ignore[attr-defined]
_ACCOUNTS: sa.Table = Account.__table__  # type: ignore[attr-defined]
_CONTACTS: sa.Table = ContactPoint.__table__  # type: ignore[attr-defined]
_UPDATED = ("name", "locale", "timezone", "channel_order", "segment", "attributes")


async def _write_batch(session: AsyncSession, rows: list[CustomerIn]) -> None:
    now: Any = utcnow()
    if _dialect(session) == "postgresql":
        now = now.isoformat()  # once, not once per row by the JSON document's encoder
    values = [
        {
            "external_ref": d.external_ref,
            "name": d.name,
            "locale": d.locale,
            "timezone": d.timezone,
            "channel_order": list(d.channel_order),
            "segment": d.segment,
            "attributes": dict(d.attributes),
            "created_at": now,
        }
        for d in rows
    ]
    ids = await _insert(
        session,
        _CUSTOMERS,
        values,
        conflict=["external_ref"],
        update=_UPDATED,
        returning=("external_ref", "id"),
    )
    accounts = [
        {"customer_id": ids[d.external_ref], "account_id": a} for d in rows for a in d.accounts
    ]
    await _insert(session, _ACCOUNTS, accounts, conflict=["account_id"])
    contacts = [
        {
            "customer_id": ids[d.external_ref],
            "kind": kind,
            "address": address,
            "consent_source": d.consent_source,
            "consent_at": now,
            "created_at": now,
        }
        for d in rows
        for kind, addresses in (("phone", d.phones), ("email", d.emails))
        for address in dict.fromkeys(addresses)
    ]
    await _insert(session, _CONTACTS, contacts, conflict=["customer_id", "kind", "address"])


async def _insert(
    session: AsyncSession,
    table: sa.Table,
    rows: list[dict[str, Any]],
    *,
    conflict: list[str],
    update: tuple[str, ...] = (),
    returning: tuple[str, str] | None = None,
) -> dict[Any, Any]:
    """``rows`` inserted in one statement, ``ON CONFLICT (conflict)`` updating ``update`` (or
    doing nothing); the (first, second) pairs of the ``returning`` columns, as a dict. On
    PostgreSQL the rows go as one JSON document (alerts.columns.recordset_insert), elsewhere as
    an executemany."""
    if not rows:
        return {}
    if _dialect(session) == "postgresql":
        action = (
            "DO UPDATE SET " + ", ".join(f"{n} = EXCLUDED.{n}" for n in update)
            if update
            else "DO NOTHING"
        )
        sql, params = recordset_insert(
            table,
            rows,
            returning=", ".join(returning or ("1", "1")),
            on_conflict=f"({', '.join(conflict)}) {action}",
        )
        result = await (await session.connection()).execute(sql, params)
        return dict(result.all()) if returning else {}
    stmt = sqlite.insert(table)
    if update:
        upsert = stmt.on_conflict_do_update(
            index_elements=conflict, set_={n: stmt.excluded[n] for n in update}
        )
    else:
        upsert = stmt.on_conflict_do_nothing(index_elements=conflict)
    if returning is None:
        await session.exec(upsert, params=rows)
        return {}
    done = await session.exec(upsert.returning(*(table.c[n] for n in returning)), params=rows)
    return dict(done.all())


async def find_customer(*, session: AsyncSession, external_ref: str) -> Customer | None:
    return (
        await session.exec(select(Customer).where(col(Customer.external_ref) == external_ref))
    ).first()


class CustomerNotFound(LookupError):
    """No customer with this external reference."""

    def __init__(self, external_ref: str) -> None:
        super().__init__(f"no customer {external_ref!r}")
        self.external_ref = external_ref


class ContactPointNotFound(LookupError):
    """The customer has no contact point with this id (it may be someone else's)."""

    def __init__(self, external_ref: str, contact_id: int) -> None:
        super().__init__(f"customer {external_ref!r} has no contact point {contact_id}")


async def get_customer(*, session: AsyncSession, external_ref: str) -> Customer:
    """The customer, or CustomerNotFound."""
    customer = await find_customer(session=session, external_ref=external_ref)
    if customer is None or customer.id is None:
        raise CustomerNotFound(external_ref)
    return customer


async def save_customer(*, session: AsyncSession, data: CustomerIn) -> tuple[Customer, bool]:
    """``upsert_customer`` in its own transaction (committed); True if created. ValueError
    (nothing stored) when an account already belongs to another customer."""
    customer, created = await upsert_customer(session=session, data=data)
    await session.commit()
    return customer, created


async def get_own_contact(
    *, session: AsyncSession, external_ref: str, contact_id: int
) -> ContactPoint:
    """The customer's contact point; ContactPointNotFound also when it is someone else's, and
    CustomerNotFound when there is no such customer."""
    customer = await get_customer(session=session, external_ref=external_ref)
    contact = await session.get(ContactPoint, contact_id)
    if contact is None or contact.customer_id != customer.id:
        raise ContactPointNotFound(external_ref, contact_id)
    return contact
