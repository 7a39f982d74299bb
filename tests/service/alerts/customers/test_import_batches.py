"""`herald customers import` upserts in batches with the same per-row report as one row at a
time: bad rows by line and reason, the others loaded; a re-import updates and duplicates nothing;
rows that depend on each other across or within a batch keep their file order."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from alerts.customers.records import import_customers, iter_rows
from alerts.models import Account, ContactPoint, Customer
from herald.runtime import Runtime

HEADER = "external_ref,name,timezone,accounts,phones,emails,channel_order\n"


def _csv(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines))
    return path


async def _counts(runtime: Runtime) -> tuple[int, int, int]:
    async with runtime.deps.sessions() as session:
        return tuple(  # type: ignore[return-value]
            [
                (await session.exec(select(func.count()).select_from(table))).one()
                for table in (Customer, Account, ContactPoint)
            ]
        )


async def test_reimporting_updates_in_place_and_duplicates_nothing(
    runtime: Runtime, tmp_path: Path
) -> None:
    rows = [
        f"B-{i},Person {i},UTC,NL00BANK{i:010d},+3161{i:07d},p{i}@example.com,sms" for i in range(7)
    ]
    path = _csv(tmp_path, rows)
    async with runtime.deps.sessions() as session:
        first = await import_customers(session=session, path=path, batch=3)
    assert (first.imported, first.updated, first.errors) == (7, 0, [])
    assert await _counts(runtime) == (7, 7, 14)

    rows[4] = (
        "B-4,Renamed Person,Europe/Amsterdam,NL00BANK0000000004,+31610000004,new@example.com,email"
    )
    path = _csv(tmp_path, rows)
    async with runtime.deps.sessions() as session:
        again = await import_customers(session=session, path=path, batch=3)
    assert (again.imported, again.updated, again.errors) == (0, 7, [])
    assert await _counts(runtime) == (7, 7, 15)  # only the new email address is added
    async with runtime.deps.sessions() as session:
        renamed = (await session.exec(select(Customer).where(Customer.external_ref == "B-4"))).one()
        emails = (
            await session.exec(
                select(ContactPoint.address)
                .where(ContactPoint.customer_id == renamed.id, ContactPoint.kind == "email")
                .order_by(col(ContactPoint.address))
            )
        ).all()
    assert (renamed.name, renamed.timezone, renamed.channel_order) == (
        "Renamed Person",
        "Europe/Amsterdam",
        ["email"],
    )
    assert emails == ["new@example.com", "p4@example.com"]


async def test_bad_rows_are_reported_by_line_and_the_others_load(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        [
            "A-1,Ann,UTC,NL00BANK0000000001,+31610000001,,sms",  # line 2
            "A-2,Bob,UTC,NL00BANK0000000002,0612,,sms",  # line 3: not E.164
            "A-3,Cid,UTC,NL00BANK0000000001,+31610000003,,sms",  # line 4: Ann's account
            "A-1,Ann Again,UTC,NL00BANK0000000001,+31610000001,,voice",  # line 5: same ref again
            "A-4,Dee,Nowhere/Town,NL00BANK0000000004,,,sms",  # line 6: bad zone
            "A-5,Eve,UTC,NL00BANK0000000005,+31610000005,,sms",  # line 7 (next batch)
            "A-6,Fay,UTC,NL00BANK0000000005,+31610000006,,sms",  # line 8: Eve's, same batch
        ],
    )
    async with runtime.deps.sessions() as session:
        report = await import_customers(session=session, path=path, batch=2)
    errors = {e["row"]: e["error"] for e in report.errors}
    assert sorted(errors) == [3, 4, 6, 8]
    assert "E.164" in errors[3]
    assert errors[4] == "account NL00BANK0000000001 already belongs to another customer"
    assert "IANA time zone" in errors[6]
    assert errors[8] == "account NL00BANK0000000005 already belongs to another customer"
    assert (report.imported, report.updated) == (2, 1)  # new; A-1 again updated
    async with runtime.deps.sessions() as session:
        customers = (await session.exec(select(Customer).order_by(col(Customer.id)))).all()
    assert [(c.external_ref, c.name, c.channel_order) for c in customers] == [
        ("A-1", "Ann Again", ["voice"]),
        ("A-5", "Eve", ["sms"]),
    ]
    assert await _counts(runtime) == (2, 2, 2)


def _rows(n: int, start: int = 0) -> list[str]:
    return [
        f"S-{i},Person {i},UTC,NL00BANK{i:010d},+3161{i:07d},s{i}@example.com,sms"
        for i in range(start, start + n)
    ]


def test_a_csv_file_is_read_as_it_goes(tmp_path: Path) -> None:
    """The first rows come before the reader has seen the end of the file: a bank's customer
    file of any size takes the memory of one batch, not of the whole file."""
    path = _csv(tmp_path, _rows(3000))
    with path.open("ab") as out:
        out.write(b"S-x,\xff\xfe not UTF-8,UTC,,,,sms\n")
    rows = iter_rows(path)
    first = next(rows)
    assert first[0] == 2 and first[1]["external_ref"] == "S-0"
    with pytest.raises(UnicodeDecodeError):
        list(rows)


async def test_a_file_that_breaks_halfway_imports_nothing(runtime: Runtime, tmp_path: Path) -> None:
    """Batches written before a later line turns out unreadable are rolled back with the rest:
    the import is one transaction, whatever the size of the file; the collector's threshold is
    put back."""
    path = _csv(tmp_path, _rows(2500))
    with path.open("ab") as out:
        out.write(b"S-x,\xff\xfe not UTF-8,UTC,,,,sms\n")
    threshold = gc.get_threshold()
    async with runtime.deps.sessions() as session:
        with pytest.raises(UnicodeDecodeError):
            await import_customers(session=session, path=path, batch=500)
    assert gc.get_threshold() == threshold
    assert await _counts(runtime) == (0, 0, 0)
    # The same session factory goes on working, and the good part of the file loads.
    good = _csv(tmp_path, _rows(2500))
    async with runtime.deps.sessions() as session:
        report = await import_customers(session=session, path=good, batch=500)
    assert (report.imported, report.updated, report.errors) == (2500, 0, [])
    assert await _counts(runtime) == (2500, 2500, 5000)


async def test_a_cell_too_large_for_csv_is_a_clear_error(runtime: Runtime, tmp_path: Path) -> None:
    path = _csv(tmp_path, _rows(3))
    with path.open("a") as out:
        out.write('S-9,"' + "x" * 200_000 + '",UTC,,,,sms\n')
    async with runtime.deps.sessions() as session:
        with pytest.raises(ValueError, match=r"row 5: field larger than field limit"):
            await import_customers(session=session, path=path)
    assert await _counts(runtime) == (0, 0, 0)
