"""Camt054Adapter: versions, event mapping, identifiers and per-record problems."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.xml_adapters.support import (
    CAMT054_DATA,
    CAMT054_NS,
    OTHER_DATA,
    clark,
    document,
    entry,
    notification,
    write_big_camt054,
)
from xml_adapters.base import AccountEvent, Record, RecordProblem, UnknownFormatError
from xml_adapters.camt054 import Camt054Adapter

IBAN = "NL91ABNA0417164300"


def records(data: bytes) -> list[Record]:
    return list(Camt054Adapter().iter_records(io.BytesIO(data), "test.xml"))


def only_event(data: bytes) -> AccountEvent:
    [record] = records(data)
    assert isinstance(record, AccountEvent), record
    return record


def only_problem(data: bytes) -> RecordProblem:
    [record] = records(data)
    assert isinstance(record, RecordProblem), record
    return record


@pytest.mark.parametrize("version", ["02", "04", "08"])
def test_recognises_family_and_version_from_the_root_namespace(version: str) -> None:
    adapter = Camt054Adapter()
    root = clark("Document", CAMT054_NS[version])
    assert adapter.accepts(root)
    assert adapter.version(root) == f"001.{version}"


@pytest.mark.parametrize(
    "root",
    [
        "{urn:iso:std:iso:20022:tech:xsd:camt.054.001.99}Document",  # unpublished version
        "{urn:iso:std:iso:20022:tech:xsd:camt.053.001.02}Document",  # statement, not notification
        "{urn:iso:std:iso:20022:tech:xsd:camt.054.001.08}BkToCstmrDbtCdtNtfctn",  # not the root
        "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice",
        "Document",
    ],
)
def test_refuses_other_roots(root: str) -> None:
    assert not Camt054Adapter().accepts(root)
    assert Camt054Adapter().version(root) is None


def test_iter_records_refuses_a_statement_naming_what_it_found() -> None:
    statement = OTHER_DATA / "camt053.v2.minimal.xml"
    with statement.open("rb") as stream, pytest.raises(UnknownFormatError) as caught:
        Camt054Adapter().iter_records(stream, "statement.xml")
    message = str(caught.value)
    assert "statement.xml" in message
    assert "camt.053.001.02" in message
    assert "camt.054.001.08" in message


def test_v8_status_code_and_counterparty_party() -> None:
    tx = (
        "<NtryDtls><TxDtls><Refs><EndToEndId>E2E-1</EndToEndId></Refs>"
        "<RltdPties><Dbtr><Pty><Nm>Employer BV</Nm></Pty></Dbtr>"
        "<DbtrAcct><Id><IBAN>de89 3704 0044 0532 0130 00</IBAN></Id></DbtrAcct>"
        "<Cdtr><Pty><Nm>Me</Nm></Pty></Cdtr></RltdPties>"
        "<RmtInf><Ustrd>Salary</Ustrd><Ustrd>January</Ustrd></RmtInf></TxDtls></NtryDtls>"
    )
    event = only_event(
        document([notification([entry("S1", "2500.00", "CRDT", extra=tx)], iban=IBAN)])
    )
    assert event.event_type == "credit_posted"
    assert event.status == "BOOK"
    assert event.amount == Decimal("2500.00")
    assert event.description == "Employer BV"  # the payer, for a credit
    assert event.data["counterparty_account"] == "DE89370400440532013000"
    assert event.data["remittance"] == "Salary January"
    assert event.data["end_to_end_id"] == "E2E-1"


def test_debit_without_party_falls_back_to_remittance_then_additional_info() -> None:
    remittance = "<NtryDtls><TxDtls><RmtInf><Ustrd>Invoice 42</Ustrd></RmtInf></TxDtls></NtryDtls>"
    info = "<AddtlNtryInf>Card payment   SHOP 12</AddtlNtryInf>"
    first, second = records(
        document([notification([entry("A", extra=remittance), entry("B", extra=info)], iban=IBAN)])
    )
    assert isinstance(first, AccountEvent) and isinstance(second, AccountEvent)
    assert first.description == "Invoice 42"
    assert second.description == "Card payment SHOP 12"


@pytest.mark.parametrize(
    ("indicator", "status", "event_type"),
    [
        ("DBIT", "BOOK", "debit_posted"),
        ("CRDT", "BOOK", "credit_posted"),
        ("DBIT", "PDNG", "debit_pending"),
        ("CRDT", "PDNG", "credit_pending"),
        ("DBIT", "INFO", "debit_info"),
        ("CRDT", "FUTR", "credit_info"),
    ],
)
def test_event_type_from_indicator_and_status(indicator: str, status: str, event_type: str) -> None:
    data = document([notification([entry("R", indicator=indicator, status=status)], iban=IBAN)])
    assert only_event(data).event_type == event_type


def test_source_event_id_prefers_servicer_ref_then_entry_ref_then_position() -> None:
    both = (
        '<Ntry><Amt Ccy="EUR">1</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        "<NtryRef>NR</NtryRef><AcctSvcrRef>SR</AcctSvcrRef></Ntry>"
    )
    entry_ref = (
        '<Ntry><Amt Ccy="EUR">1</Amt><CdtDbtInd>DBIT</CdtDbtInd><NtryRef>NR2</NtryRef></Ntry>'
    )
    neither = '<Ntry><Amt Ccy="EUR">1</Amt><CdtDbtInd>DBIT</CdtDbtInd></Ntry>'
    data = document(
        [
            notification([both, entry_ref, neither], ntfctn_id="N1", iban="nl91 abna 0417 1643 00"),
            notification([neither], ntfctn_id="N2", iban=IBAN),
        ]
    )
    ids = [r.source_event_id for r in records(data) if isinstance(r, AccountEvent)]
    assert ids == [f"{IBAN}:SR", f"{IBAN}:NR2", f"{IBAN}:N1#3", f"{IBAN}:N2#1"]


def test_same_file_gives_same_ids() -> None:
    data = (CAMT054_DATA / "problems.v2.xml").read_bytes()
    assert records(data) == records(data)


def test_othr_account_and_currency_from_the_account() -> None:
    no_ccy = "<Ntry><Amt>7.5</Amt><CdtDbtInd>DBIT</CdtDbtInd><AcctSvcrRef>X</AcctSvcrRef></Ntry>"
    ntfctn = (
        "<Ntfctn><Id>N</Id><Acct><Id><Othr><Id>acc 0042</Id></Othr></Id><Ccy>CHF</Ccy></Acct>"
        f"{no_ccy}</Ntfctn>"
    )
    event = only_event(document([ntfctn]))
    assert event.account_id == "ACC0042"
    assert event.currency == "CHF"
    assert event.source_event_id == "ACC0042:X"


def test_booking_datetime_gives_the_date_as_written() -> None:
    dated = (
        '<Ntry><Amt Ccy="EUR">1</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        "<BookgDt><DtTm>2024-03-31T23:59:59.123-11:00</DtTm></BookgDt><AcctSvcrRef>D</AcctSvcrRef></Ntry>"
    )
    event = only_event(document([notification([dated], iban=IBAN)]))
    assert event.booking_date == date(2024, 3, 31)
    assert event.data["booking_datetime"] == "2024-03-31T23:59:59.123-11:00"


def test_reversal_is_flagged() -> None:
    rvsl = entry("R", extra="").replace("</CdtDbtInd>", "</CdtDbtInd><RvslInd>true</RvslInd>")
    assert only_event(document([notification([rvsl], iban=IBAN)])).data["reversal"] == "true"


def test_problems_file_reports_each_fault_and_keeps_going() -> None:
    found = records((CAMT054_DATA / "problems.v2.xml").read_bytes())
    problems = [
        (p.line, p.record_id, p.field, p.value) for p in found if isinstance(p, RecordProblem)
    ]
    assert problems == [
        (55, "SVC-0002", "Amt", "12,3x"),
        (60, "SVC-0003", "CdtDbtInd", None),
        (67, "SVC-0004", "CdtDbtInd", "DEBIT"),
        (76, "SVC-0005", "BookgDt/Dt", "2024-02-30"),
        (80, "SVC-0006", "Amt", None),
        (113, "SVC-0009", "Amt/@Ccy", "eur"),
        (125, "SVC-0010", "Acct/Id", None),
    ]
    events = [(e.line, e.source_event_id) for e in found if isinstance(e, AccountEvent)]
    assert events == [
        (21, f"{IBAN}:SVC-0001"),
        (85, f"{IBAN}:E7"),
        (106, f"{IBAN}:N1#8"),
        (142, "12345678:SVC-0011"),
    ]
    assert "12,3x" in str(found[1]) and "line 55" in str(found[1])


@pytest.mark.parametrize(
    ("amount", "value"),
    [("12,3x", "12,3x"), ("-5.00", "-5.00"), ("1.234567", "1.234567"), ("", ""), ("NaN", "NaN")],
)
def test_unparseable_amounts_are_problems(amount: str, value: str) -> None:
    problem = only_problem(document([notification([entry("R", amount=amount)], iban=IBAN)]))
    assert (problem.field, problem.value, problem.record_id) == ("Amt", value, "R")
    assert problem.line == 5  # the Amt element


def test_entry_without_any_reference_is_a_problem() -> None:
    bare = '<Ntry><Amt Ccy="EUR">1</Amt><CdtDbtInd>DBIT</CdtDbtInd></Ntry>'
    ntfctn = f"<Ntfctn><Acct><Id><IBAN>{IBAN}</IBAN></Id></Acct>{bare}</Ntfctn>"
    problem = only_problem(document([ntfctn]))
    assert problem.field == "AcctSvcrRef"
    assert "stable id" in problem.reason
    assert problem.record_id == "entry 1"


def test_huge_bad_value_is_truncated_in_the_problem() -> None:
    problem = only_problem(document([notification([entry("R", amount="9" * 50 + "x")], iban=IBAN)]))
    big = only_problem(document([notification([entry("R", amount="x" * 100_000)], iban=IBAN)]))
    assert problem.value == "9" * 50 + "x"
    assert big.value is not None and len(big.value) <= 210


@settings(max_examples=60, deadline=None, database=None)
@given(
    amount=st.decimals(min_value=0, max_value=Decimal("999999999999.99999"), places=2),
    indicator=st.sampled_from(["DBIT", "CRDT"]),
)
def test_amounts_round_trip(amount: Decimal, indicator: str) -> None:
    event = only_event(
        document([notification([entry("R", amount=str(amount), indicator=indicator)], iban=IBAN)])
    )
    assert event.amount == amount
    assert event.credit_debit == indicator


def test_events_stream_before_the_file_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    total = write_big_camt054(big, notifications=2, entries_each=10_000)
    size = big.stat().st_size
    with big.open("rb") as stream:
        events = Camt054Adapter().iter_records(stream, str(big))
        first = next(events)
        assert isinstance(first, AccountEvent)
        assert first.source_event_id == "NL91ABNA0417164300:R0-0"
        assert stream.tell() < size // 10  # only the first chunk(s) were read
        rest = list(events)
    assert len(rest) + 1 == total
    last = rest[-1]
    assert isinstance(last, AccountEvent)
    assert last.source_event_id == "NL91ABNA0417164301:R1-9999"
    assert last.amount == Decimal("9999.01")
