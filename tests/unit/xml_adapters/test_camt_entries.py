"""camt entries (issue 15): zoned dates, placeholder references, every version, batch entries
and the transaction-level fields of the event vocabulary."""

from __future__ import annotations

import io
import logging
import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from rules.conditions import evaluate
from rules.facts import CustomerView, EventView
from tests.unit.xml_adapters.support import clark
from xml_adapters.base import AccountEvent, RecordProblem
from xml_adapters.convert import ConversionError, converter
from xml_adapters.registry import MAPPINGS_DIR, read_file

IBAN = "DE89370400440532013000"
PLACEHOLDERS = {"NONREF", "NOTPROVIDED"}


def ns(family: str, version: str) -> str:
    return f"urn:iso:std:iso:20022:tech:xsd:camt.{family}.001.{version}"


def events(data: bytes) -> list[AccountEvent]:
    _adapter, records = read_file(io.BytesIO(data))
    out = list(records)
    problems = [r for r in out if isinstance(r, RecordProblem)]
    assert not problems, problems
    return [r for r in out if isinstance(r, AccountEvent)]


def statement(body: str, *, version: str = "04", family: str = "053", stmt_id: str = "S1") -> bytes:
    root, ctx = {
        "052": ("BkToCstmrAcctRpt", "Rpt"),
        "053": ("BkToCstmrStmt", "Stmt"),
        "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
    }[family]
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns(family, version)}">'
        f"<{root}><GrpHdr><MsgId>M1</MsgId><CreDtTm>2017-04-01T10:00:00+02:00</CreDtTm></GrpHdr>\n"
        f"<{ctx}><Id>{stmt_id}</Id><Acct><Id><IBAN>{IBAN}</IBAN></Id></Acct>\n{body}\n</{ctx}>"
        f"</{root}></Document>\n"
    ).encode()


def ntry(
    *,
    ref: str = "",
    ntry_ref: str = "",
    amount: str = "10.00",
    cd: str = "DBIT",
    booked: str = "<Dt>2017-04-01</Dt>",
    details: str = "",
    status: str = "<Sts>BOOK</Sts>",
) -> str:
    refs = (f"<NtryRef>{ntry_ref}</NtryRef>" if ntry_ref else "") + (
        f"<AcctSvcrRef>{ref}</AcctSvcrRef>" if ref else ""
    )
    # NtryRef comes first in an entry, AcctSvcrRef after the dates.
    first, _, second = refs.partition("<AcctSvcrRef>")
    second = f"<AcctSvcrRef>{second}" if second else ""
    return (
        f'<Ntry>{first}<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>{status}'
        f"<BookgDt>{booked}</BookgDt><ValDt><Dt>2017-04-01</Dt></ValDt>{second}"
        f"<BkTxCd/>{details}</Ntry>"
    )


# --- 1. dates -------------------------------------------------------------------------------

# The lexical forms XML Schema 1.0 Part 2 gives for xs:date (3.2.9) and xs:dateTime (3.2.7),
# which ISO 20022's ISODate and ISODateTime are, with the calendar date each stands for.
XS_FORMS = [
    ("2017-04-01", date(2017, 4, 1)),
    ("2017-04-01Z", date(2017, 4, 1)),
    ("2017-04-01+02:00", date(2017, 4, 1)),
    ("2017-04-01-05:00", date(2017, 4, 1)),
    ("2017-04-01+14:00", date(2017, 4, 1)),
    ("2017-04-01-14:00", date(2017, 4, 1)),
    ("2017-04-01T13:20:00", date(2017, 4, 1)),
    ("2017-04-01T13:20:00Z", date(2017, 4, 1)),
    ("2017-04-01T13:20:00.5", date(2017, 4, 1)),
    ("2017-04-01T13:20:00.123456789+02:00", date(2017, 4, 1)),
    ("2017-04-01T23:30:00-05:00", date(2017, 4, 1)),  # the date where it was written
    ("2017-04-01T00:30:00+02:00", date(2017, 4, 1)),  # (in UTC the day before)
    ("2017-04-01T24:00:00", date(2017, 4, 2)),  # end of day = the next day's start
    ("2017-04-01T24:00:00.000Z", date(2017, 4, 2)),
    ("2016-02-29", date(2016, 2, 29)),
]


@pytest.mark.parametrize(("text", "expected"), XS_FORMS)
def test_every_lexical_form_of_xs_date_and_datetime_is_a_date(text: str, expected: date) -> None:
    assert converter("date")(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2017-04-01+15:00",  # offsets stop at 14:00
        "2017-04-01+14:30",
        "2017-04-01+02:60",
        "2017-02-29",
        "2017-04-01T24:00:01",
        "2017-04-01T25:00:00",
        "2017-04-01T13:20:60",
        "2017-04-01 13:20:00",
        "01.04.2017",
        "2017-04-01+0200",
    ],
)
def test_what_is_not_an_xs_date_is_refused(text: str) -> None:
    with pytest.raises(ConversionError):
        converter("date")(text)


def test_a_camt053_v04_statement_with_zoned_dates_gives_its_events() -> None:
    body = (
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2017-04-01+02:00</Dt></Dt></Bal>\n"
        + ntry(ref="A1", booked="<Dt>2017-04-01+02:00</Dt>")
        + "\n"
        + ntry(ref="A2", booked="<DtTm>2017-04-01T23:30:00.25-05:00</DtTm>")
    )
    found = events(statement(body))
    assert [(e.event_type, e.booking_date) for e in found] == [
        ("balance_closing_booked", date(2017, 4, 1)),
        ("debit_posted", date(2017, 4, 1)),
        ("debit_posted", date(2017, 4, 1)),
    ]
    assert found[2].data["booking_datetime"] == "2017-04-01T23:30:00.25-05:00"  # as written


# --- 2. placeholder references --------------------------------------------------------------


def five_nonref_debits(family: str = "052") -> bytes:
    body = "\n".join(
        ntry(ref="NONREF", ntry_ref="NOTPROVIDED", amount=f"{i}.00") for i in range(1, 6)
    )
    return statement(body, family=family, version="02", stmt_id="RPT-7")


def test_placeholder_references_do_not_merge_distinct_entries() -> None:
    first = events(five_nonref_debits())
    assert [e.source_event_id for e in first] == [f"{IBAN}:RPT-7#{i}" for i in range(1, 6)]
    assert [e.amount for e in first] == [Decimal(f"{i}.00") for i in range(1, 6)]
    assert all("account_servicer_ref" not in e.data and "entry_ref" not in e.data for e in first)
    again = events(five_nonref_debits())  # the same file re-delivered: the same ids
    assert [e.source_event_id for e in again] == [e.source_event_id for e in first]


def test_placeholder_transaction_references_are_absent() -> None:
    details = (
        "<NtryDtls><TxDtls><Refs><InstrId>NONREF</InstrId><EndToEndId>NOTPROVIDED</EndToEndId>"
        "<TxId>T-1</TxId><MndtId>NOTPROVIDED</MndtId></Refs></TxDtls></NtryDtls>"
    )
    [event] = events(statement(ntry(ref="R1", details=details), version="08"))
    assert event.data["transaction_id"] == "T-1"
    assert not {"instruction_id", "end_to_end_id", "mandate_id"} & set(event.data)


@pytest.mark.parametrize("key", ["camt052", "camt053", "camt054"])
def test_every_reference_and_id_read_treats_placeholders_as_absent(key: str) -> None:
    mapping = tomllib.loads((MAPPINGS_DIR / f"{key}.toml").read_text())
    tables = [mapping["contexts"][c]["fields"] for c in mapping["contexts"]]
    tables += [r["fields"] for r in mapping["records"]]
    checked = 0
    for fields in tables:
        for name, spec in fields.items():
            reads = spec if isinstance(spec, str | list) else spec.get("path", [])
            paths = [reads] if isinstance(reads, str) else reads
            if not any(p.endswith(("Ref", "Id", "Ref/c:Ref", "UETR")) for p in paths):
                continue
            if "account" in name and "ref" not in name:  # an account number, not a reference
                continue
            checked += 1
            assert isinstance(spec, dict) and set(spec.get("empty_values", [])) >= PLACEHOLDERS, (
                key,
                name,
            )
    assert checked >= 10


# --- 3. every version -----------------------------------------------------------------------

VERSIONS = [f"{v:02d}" for v in range(1, 14)]


@pytest.mark.parametrize("family", ["052", "053", "054"])
@pytest.mark.parametrize("version", VERSIONS)
def test_every_published_version_is_read(family: str, version: str) -> None:
    sts = "<Sts><Cd>BOOK</Cd></Sts>" if version >= "08" else "<Sts>BOOK</Sts>"
    details = (
        "<TxDtls><RltdPties><Cdtr><Nm>Shop</Nm></Cdtr></RltdPties></TxDtls>"
        if version == "01"
        else "<NtryDtls><TxDtls><RltdPties><Cdtr><Nm>Shop</Nm></Cdtr></RltdPties>"
        "</TxDtls></NtryDtls>"
    )
    if version >= "08":
        details = details.replace(
            "<Cdtr><Nm>Shop</Nm></Cdtr>", "<Cdtr><Pty><Nm>Shop</Nm></Pty></Cdtr>"
        )
    [event] = events(
        statement(ntry(ref="R1", status=sts, details=details), family=family, version=version)
    )
    assert (event.event_type, event.description, event.data["message_version"]) == (
        "debit_posted",
        "Shop",
        f"camt.{family}.001.{version}",
    )


def test_version_01_shapes_are_mapped() -> None:
    """v01 names an account by PrtryAcct, a balance type by Tp/Cd, and lists TxDtls and Btch in
    the entry itself."""
    body = (
        '<Bal><Tp><Cd>CLBD</Cd></Tp><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        "<Dt><Dt>2007-10-18</Dt></Dt></Bal>\n"
        + ntry(
            ref="V1",
            details="<Btch><NbOfTxs>2</NbOfTxs></Btch>"
            "<TxDtls><AmtDtls><TxAmt><Amt Ccy='EUR'>4.00</Amt></TxAmt></AmtDtls></TxDtls>"
            "<TxDtls><AmtDtls><TxAmt><Amt Ccy='EUR'>6.00</Amt></TxAmt></AmtDtls></TxDtls>",
        )
    )
    data = statement(body, version="01").replace(
        f"<IBAN>{IBAN}</IBAN>".encode(), b"<PrtryAcct><Id>CH2801234000123456789</Id></PrtryAcct>"
    )
    found = events(data)
    assert [(e.event_type, e.account_id, e.amount) for e in found] == [
        ("balance_closing_booked", "CH2801234000123456789", Decimal("-5.00")),
        ("debit_posted", "CH2801234000123456789", Decimal("10.00")),
        ("debit_posted", "CH2801234000123456789", Decimal("4.00")),
        ("debit_posted", "CH2801234000123456789", Decimal("6.00")),
    ]
    assert found[1].data["batch_count"] == "2"


# --- 4. batch entries -----------------------------------------------------------------------


def batch_entry() -> bytes:
    def tx(n: int, amount: str, name: str, cd: str = "DBIT") -> str:
        return (
            f"<TxDtls><Refs><EndToEndId>E2E-{n}</EndToEndId></Refs>"
            f'<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>'
            f"<RltdPties><Cdtr><Pty><Nm>{name}</Nm></Pty></Cdtr></RltdPties>"
            f"<RmtInf><Ustrd>Invoice {n}</Ustrd></RmtInf></TxDtls>"
        )

    details = (
        '<NtryDtls><Btch><NbOfTxs>3</NbOfTxs><TtlAmt Ccy="EUR">60.00</TtlAmt></Btch>'
        + tx(1, "10.00", "Alpha")
        + tx(2, "20.00", "Beta")
        + tx(3, "30.00", "Gamma")
        + "</NtryDtls><AddtlNtryInf>Salary batch</AddtlNtryInf>"
    )
    return statement(
        ntry(ref="BATCH-1", amount="60.00", details=details, status="<Sts><Cd>BOOK</Cd></Sts>"),
        version="08",
    )


def test_a_batch_entry_is_one_event_for_the_entry_and_one_per_transaction() -> None:
    entry, *items = events(batch_entry())
    assert entry.source_event_id == f"{IBAN}:BATCH-1"  # as before: re-deliveries stay duplicates
    assert (entry.amount, entry.description, entry.data["batch_role"]) == (
        Decimal("60.00"),
        "Salary batch",  # not the first transaction's counterparty
        "batch",
    )
    assert "counterparty" not in entry.data and "end_to_end_id" not in entry.data
    assert [e.source_event_id for e in items] == [f"{IBAN}:BATCH-1/{n}" for n in (1, 2, 3)]
    assert [(e.amount, e.description, e.data["counterparty"]) for e in items] == [
        (Decimal("10.00"), "Alpha", "Alpha"),
        (Decimal("20.00"), "Beta", "Beta"),
        (Decimal("30.00"), "Gamma", "Gamma"),
    ]
    for n, event in enumerate(items, start=1):
        assert event.event_type == "debit_posted"
        assert event.data["batch_role"] == "item"
        assert event.data["transaction_index"] == str(n)
        assert event.data["end_to_end_id"] == f"E2E-{n}"
        assert (event.data["batch_count"], event.data["batch_total"]) == ("3", "60.00")
    assert (entry.data["batch_count"], entry.data["batch_total"]) == ("3", "60.00")


def test_a_single_transaction_entry_stays_one_event() -> None:
    details = (
        "<NtryDtls><TxDtls><RltdPties><Cdtr><Pty><Nm>Shop</Nm></Pty></Cdtr></RltdPties>"
        "</TxDtls></NtryDtls>"
    )
    [event] = events(statement(ntry(ref="ONE", details=details), version="08"))
    assert (event.source_event_id, event.description, event.data["batch_role"]) == (
        f"{IBAN}:ONE",
        "Shop",
        "single",
    )
    assert "batch_count" not in event.data and "transaction_index" not in event.data


@pytest.mark.parametrize(
    ("condition", "matched"),
    [
        ('event.data["batch_role"] != "item"', ["batch"]),  # alert on entries
        ('event.data["batch_role"] != "batch"', ["item", "item", "item"]),  # on transactions
    ],
)
def test_an_alert_condition_chooses_entries_or_transactions(
    condition: str, matched: list[str]
) -> None:
    customer = CustomerView(ref="C1")
    now = datetime(2017, 4, 1, tzinfo=UTC)
    chosen = []
    for event in events(batch_entry()):
        view = EventView(event_type=event.event_type, account=event.account_id, data=event.data)
        if evaluate(condition, event=view, customer=customer, now=now).matched:
            chosen.append(event.data["batch_role"])
    assert chosen == matched


# --- 5. transaction-level fields ------------------------------------------------------------


def test_transaction_level_fields_reach_the_event() -> None:
    details = (
        "<NtryDtls><TxDtls>"
        "<Refs><MsgId>MSG</MsgId><AcctSvcrRef>TXSVC-1</AcctSvcrRef><PmtInfId>PMT-1</PmtInfId>"
        "<InstrId>INS-1</InstrId><EndToEndId>E2E-1</EndToEndId>"
        "<UETR>7b4a5e4e-5d2f-4c1e-9a3b-2f1d3c4b5a69</UETR><TxId>TX-1</TxId>"
        "<MndtId>MANDATE-9</MndtId></Refs>"
        '<Amt Ccy="EUR">108.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        '<AmtDtls><InstdAmt><Amt Ccy="USD">120.00</Amt><CcyXchg><SrcCcy>USD</SrcCcy>'
        "<TrgtCcy>EUR</TrgtCcy><XchgRate>0.9</XchgRate></CcyXchg></InstdAmt></AmtDtls>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>ESDD</SubFmlyCd></Fmly>"
        "</Domn></BkTxCd>"
        '<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">2.50</TtlChrgsAndTaxAmt>'
        '<Rcrd><Amt Ccy="EUR">2.50</Amt></Rcrd></Chrgs>'
        "<RltdPties><Cdtr><Pty><Nm>Power Co</Nm><PstlAdr><TwnNm>Berlin</TwnNm><Ctry>DE</Ctry>"
        "<AdrLn>Street 1</AdrLn><AdrLine>Hauptstr. 1</AdrLine><AdrLine>10115 Berlin</AdrLine>"
        "</PstlAdr><Id><PrvtId><Othr><Id>DE98ZZZ09999999999</Id></Othr></PrvtId></Id></Pty>"
        "</Cdtr></RltdPties>"
        "<RltdAgts><CdtrAgt><FinInstnId><BICFI>MARKDEFFXXX</BICFI></FinInstnId></CdtrAgt>"
        "</RltdAgts>"
        "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
        "<Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>"
        "<RtrInf><Rsn><Cd>MD06</Cd></Rsn><AddtlInf>Refund requested</AddtlInf></RtrInf>"
        "</TxDtls></NtryDtls>"
    )
    body = ntry(ref="R1", amount="108.00", details=details).replace("<BkTxCd/>", "")
    [event] = events(statement(body, version="08").replace(b"<AdrLn>Street 1</AdrLn>", b""))
    assert {k: event.data.get(k) for k in EXPECTED_FIELDS} == EXPECTED_FIELDS


EXPECTED_FIELDS = {
    "transaction_servicer_ref": "TXSVC-1",
    "payment_information_id": "PMT-1",
    "instruction_id": "INS-1",
    "end_to_end_id": "E2E-1",
    "uetr": "7b4a5e4e-5d2f-4c1e-9a3b-2f1d3c4b5a69",
    "transaction_id": "TX-1",
    "mandate_id": "MANDATE-9",
    "transaction_amount": "108.00",
    "instructed_amount": "120.00",
    "instructed_currency": "USD",
    "exchange_rate": "0.9",
    "exchange_source_currency": "USD",
    "exchange_target_currency": "EUR",
    "transaction_bank_transaction_code": "PMNT/RDDT/ESDD",
    "charges_amount": "2.50",
    "charges_currency": "EUR",
    "counterparty": "Power Co",
    "counterparty_address": "Hauptstr. 1, 10115 Berlin",
    "counterparty_town": "Berlin",
    "counterparty_country": "DE",
    "counterparty_bic": "MARKDEFFXXX",
    "creditor_identifier": "DE98ZZZ09999999999",
    "remittance_reference": "RF18539007547034",
    "remittance_reference_type": "SCOR",
    "return_reason": "MD06",
    "return_info": "Refund requested",
}


def test_check_lists_the_event_fields_a_mapping_fills() -> None:
    from xml_adapters.check import describe_adapters

    [camt054] = [d for d in describe_adapters() if d["key"] == "camt054"]
    [entry] = [r for r in camt054.get("records", []) if r["kind"] == "entry"]
    assert set(EXPECTED_FIELDS) | {"batch_role", "batch_count", "batch_total"} <= set(
        entry["fields"]
    )


# --- 6. a statement without balances or entries ---------------------------------------------


def test_a_statement_without_balances_or_entries_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = statement("", version="08") + b""
    with caplog.at_level(logging.WARNING, logger="xml_adapters.mapping"):
        assert events(data) == []
    [warning] = caplog.records
    assert "neither balances (Bal) nor entries (Ntry)" in warning.getMessage()
    assert clark("Stmt", ns("053", "08"))  # the namespace the warning concerns
