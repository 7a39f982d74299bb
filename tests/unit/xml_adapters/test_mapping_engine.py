"""The mapping engine: sources, conversions, contexts, record kinds, ids and record problems."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.unit.xml_adapters.support import write_mapping
from xml_adapters.base import (
    AccountEvent,
    InvalidDocumentError,
    Record,
    RecordProblem,
    UnknownFormatError,
)
from xml_adapters.mapping import MappingAdapter

HEAD = """
    key = "feed"
    title = "Test feed"
    [[accept]]
    root = "Feed"
    namespace_prefix = "urn:test:feed:"
    versions = ["1", "2"]
    [namespaces]
    f = "$root"
"""
NS = "urn:test:feed:1"


def adapter(tmp_path: Path, body: str) -> MappingAdapter:
    return MappingAdapter.from_file(write_mapping(tmp_path, HEAD + body))


def read(tmp_path: Path, body: str, xml: str, *, ns: str = NS) -> list[Record]:
    data = f'<?xml version="1.0"?>\n<Feed xmlns="{ns}">\n{xml}\n</Feed>\n'.encode()
    return list(adapter(tmp_path, body).iter_records(io.BytesIO(data), "feed.xml"))


def events(records: list[Record]) -> list[AccountEvent]:
    assert all(isinstance(r, AccountEvent) for r in records), records
    return [r for r in records if isinstance(r, AccountEvent)]


def one_event(tmp_path: Path, fields: str, xml: str) -> AccountEvent:
    [event] = events(read(tmp_path, ITEM + fields, xml))
    return event


def one_problem(tmp_path: Path, fields: str, xml: str) -> RecordProblem:
    [problem] = read(tmp_path, ITEM + fields, xml)
    assert isinstance(problem, RecordProblem), problem
    return problem


# A record kind whose customer and id come from attributes; tests add fields below it.
ITEM = """
    [[records]]
    kind = "item"
    element = "f:Item"
    event_type = "item_seen"
    event_id = "{account_id}:{ref}"
    record_id = "{ref}"
    [records.fields]
    account_id = { path = "@customer", required = true }
    ref = "@ref"
"""


def test_alternatives_take_the_first_non_empty_path(tmp_path: Path) -> None:
    fields = 'name = ["f:Nick", "f:Name", "f:Alias"]'
    xml = (
        '<Item customer="C" ref="1"><Nick>  </Nick><Name>Ann  \n Lee</Name><Alias>A</Alias></Item>'
    )
    assert one_event(tmp_path, fields, xml).data["name"] == "Ann Lee"


def test_element_text_is_its_whole_string_value(tmp_path: Path) -> None:
    fields = 'state = ["f:Sts/f:Cd", "f:Sts"]'
    xml = '<Item customer="C" ref="1"><Sts>BO<b>O</b>K</Sts></Item>'
    assert one_event(tmp_path, fields, xml).data["state"] == "BOOK"


def test_from_is_the_fallback_after_path(tmp_path: Path) -> None:
    fields = """
    default_ccy = { value = "EUR", internal = true }
    currency = { path = "f:Amt/@Ccy", from = "default_ccy", convert = "currency" }
    """
    with_ccy = '<Item customer="C" ref="1"><Amt Ccy="CHF">1</Amt></Item>'
    without = '<Item customer="C" ref="2"><Amt>1</Amt></Item>'
    first, second = events(read(tmp_path, ITEM + fields, with_ccy + without))
    assert (first.currency, second.currency) == ("CHF", "EUR")
    assert "default_ccy" not in first.data


def test_templates_fall_back_and_have_no_value_when_a_part_is_missing(tmp_path: Path) -> None:
    fields = """
    nick = "f:Nick"
    name = "f:Name"
    greeting = { template = "Hello {nick|name} {{#{$position}}}" }
    strict = { template = "{nick}-{name}" }
    where = { template = "line {$line}" }
    """
    xml = '<Item customer="C" ref="1"><Name>Bo</Name></Item>'
    event = one_event(tmp_path, fields, xml)
    assert event.data["greeting"] == "Hello Bo {#1}"
    assert event.data["where"] == "line 3"
    assert "strict" not in event.data


def test_switch_count_join_and_constant(tmp_path: Path) -> None:
    fields = """
    side = "@side"
    payer = { path = "f:Payer", internal = true }
    payee = { path = "f:Payee", internal = true }
    counterparty = { switch = "side", cases = { IN = "payer", OUT = "payee" } }
    lines = { count = "f:Line" }
    text = { path = "f:Line", join = " / " }
    origin = { value = "test" }
    """
    xml = (
        '<Item customer="C" ref="1" side="IN"><Payer>Ann</Payer><Payee>Bob</Payee>'
        "<Line>a</Line><Line> </Line><Line>b  c</Line></Item>"
        '<Item customer="C" ref="2" side="OUT"><Payer>Ann</Payer><Payee>Bob</Payee></Item>'
        '<Item customer="C" ref="3" side="SIDEWAYS"/>'
    )
    first, second, third = events(read(tmp_path, ITEM + fields, xml))
    assert first.data == {
        "ref": "1",
        "side": "IN",
        "counterparty": "Ann",
        "lines": "3",
        "text": "a / b c",
        "origin": "test",
    }
    assert second.data["counterparty"] == "Bob"
    assert "lines" not in second.data and "text" not in second.data  # none: no value
    assert "counterparty" not in third.data


def test_code_maps_one_of_otherwise_and_empty_values(tmp_path: Path) -> None:
    fields = """
    kind = { path = "@kind", map = { A = "alpha", B = "beta" }, otherwise = "other" }
    grade = { path = "@grade", convert = "upper", one_of = ["LOW", "HIGH"] }
    note = { path = "@note", empty_values = ["NOTPROVIDED", "-"] }
    """
    xml = (
        '<Item customer="C" ref="1" kind="A" grade="low" note="-"/>'
        '<Item customer="C" ref="2" kind="Z"/>'
        '<Item customer="C" ref="3" grade="MEDIUM"/>'
    )
    first, second, problem = read(tmp_path, ITEM + fields, xml)
    assert isinstance(first, AccountEvent) and isinstance(second, AccountEvent)
    assert (first.data["kind"], first.data["grade"], "note" in first.data) == (
        "alpha",
        "LOW",
        False,
    )
    assert second.data["kind"] == "other"  # any other code, and no code at all
    assert isinstance(problem, RecordProblem)
    assert (problem.field, problem.value, problem.reason) == (
        "@grade",
        "MEDIUM",
        "must be LOW or HIGH",
    )


def test_default_is_converted_like_found_text(tmp_path: Path) -> None:
    fields = 'amount = { path = "f:Amt", default = "0.00", convert = "decimal" }'
    event = one_event(tmp_path, fields, '<Item customer="C" ref="1"/>')
    assert event.amount == Decimal("0.00")


def test_numbers_dates_and_signs(tmp_path: Path) -> None:
    fields = """
    credit_debit = { path = "f:Ind", one_of = ["CRDT", "DBIT"] }
    amount = { path = "f:Amt", convert = "amount", negate_when = { credit_debit = "DBIT" } }
    booking_date = { path = "f:When", convert = "date" }
    due = { path = "f:Due", convert = "date", date_format = ["%d.%m.%Y", "%Y%m%d"] }
    at = { path = "f:At", convert = "datetime" }
    clock = { from = "at", convert = "time" }
    count = { path = "f:Count", convert = "integer" }
    """
    xml = (
        '<Item customer="C" ref="1"><Ind>DBIT</Ind><Amt>27.50</Amt>'
        "<When>2024-03-31T23:59:59-11:00</When><Due>20240415</Due>"
        "<At>2024-03-31T08:05:00Z</At><Count>007</Count></Item>"
    )
    event = one_event(tmp_path, fields, xml)
    assert (event.amount, event.credit_debit) == (Decimal("-27.50"), "DBIT")
    assert event.booking_date == date(2024, 3, 31)  # the date as written, not converted to UTC
    assert event.data == {
        "ref": "1",
        "due": "2024-04-15",
        "at": "2024-03-31T08:05:00Z",
        "clock": "08:05",
        "count": "7",
    }


@pytest.mark.parametrize(
    ("fields", "xml", "field", "value", "reason"),
    [
        (
            'amount = { path = "f:Amt", convert = "decimal" }',
            "<Amt>1.234,56</Amt>",
            "Amt",
            "1.234,56",
            "not a decimal number like 1234.56 or -12.5",
        ),
        (
            'amount = { path = "f:Amt", convert = "amount" }',
            "<Amt></Amt>",  # present but empty is invalid, not missing
            "Amt",
            "",
            "the amount is not a decimal number like 1234.56",
        ),
        (
            'day = { path = ["f:Dt", "f:DtTm"], convert = "date" }',
            "<DtTm>2024-02-30T10:00:00Z</DtTm>",
            "DtTm",
            "2024-02-30T10:00:00Z",
            "not a valid date (expected an ISO date like 2024-01-31 or 2024-01-31+01:00, or a "
            "date-time like 2024-01-31T13:15:00.5+01:00)",
        ),
        (
            'day = { path = "f:Dt", convert = "date", date_format = "%d.%m.%Y" }',
            "<Dt>2024-01-31</Dt>",
            "Dt",
            "2024-01-31",
            "not a valid date (expected a date like 31.01.2024)",
        ),
        (
            'at = { path = "f:At/@when", convert = "datetime" }',
            '<At when="2024-01-31 10:00"/>',
            "At/@when",
            "2024-01-31 10:00",
            "not a date-time with a zone like 2024-01-31T13:15:00+01:00",
        ),
        (
            'ccy = { path = "f:Amt/@Ccy", convert = "currency", label = "Currency", '
            'invalid = "use an ISO code" }',
            '<Amt Ccy="euro">1</Amt>',
            "Currency",
            "euro",
            "use an ISO code",
        ),
    ],
    ids=["decimal", "blank-amount", "date-alternative", "date-format", "datetime", "custom"],
)
def test_invalid_values_become_problems(
    tmp_path: Path, fields: str, xml: str, field: str, value: str, reason: str
) -> None:
    problem = one_problem(tmp_path, fields, f'<Item customer="C" ref="R-1">\n{xml}\n</Item>')
    assert (problem.field, problem.value, problem.reason) == (field, value, reason)
    assert (problem.record_id, problem.line) == ("R-1", 4)  # the line of the bad element


def test_missing_required_values_become_problems_at_the_record_line(tmp_path: Path) -> None:
    fields = """
    amount = { path = "f:Amt", convert = "decimal", required = true }
    due = { path = "f:Due", required = true, missing = "the item has no due date" }
    """
    xml = '<Item customer="C" ref="R-1"><Amt>1</Amt></Item>\n<Item customer="C"/>'
    first, second = read(tmp_path, ITEM + fields, xml)
    assert first == RecordProblem(3, "R-1", "Due", None, "the item has no due date")
    # no ref: the default record id, and the first fault wins (amount before due)
    assert second == RecordProblem(4, "item 2", "Amt", None, "required value Amt is missing")


def test_huge_bad_values_are_cut(tmp_path: Path) -> None:
    fields = 'amount = { path = "f:Amt", convert = "decimal" }'
    problem = one_problem(
        tmp_path, fields, f'<Item customer="C" ref="1"><Amt>{"x" * 5000}</Amt></Item>'
    )
    assert problem.value == "x" * 200 + "..."


def test_event_type_and_id_must_be_complete(tmp_path: Path) -> None:
    body = (
        ITEM.replace('event_type = "item_seen"', 'event_type = "item_{stage}"') + 'stage = "@stage"'
    )
    xml = (
        '<Item customer="C" ref="1" stage="new"/>\n'
        '<Item customer="C" stage="new"/>\n'
        '<Item ref="3"/>'
    )
    ok, no_id, no_type = read(tmp_path, body, xml)
    assert isinstance(ok, AccountEvent) and ok.event_type == "item_new"
    assert no_id == RecordProblem(
        4,
        "item 2",
        "event_id",
        None,
        "cannot build the event id: a part of '{account_id}:{ref}' has no value",
    )
    assert isinstance(no_type, RecordProblem)
    assert (no_type.field, no_type.reason) == ("@customer", "required value @customer is missing")


def test_event_attributes_and_data(tmp_path: Path) -> None:
    fields = """
    amount = { path = "f:Amt", convert = "decimal" }
    currency = "f:Amt/@Ccy"
    credit_debit = "f:Ind"
    status = "f:Sts"
    booking_date = { path = "f:Day", convert = "date" }
    description = "f:Text"
    helper = { path = "f:Helper", internal = true }
    extra = "f:Extra"
    """
    xml = (
        '<Item customer=" c 1 " ref="1"><Amt Ccy="EUR">9.90</Amt><Ind>DBIT</Ind><Sts>BOOK</Sts>'
        "<Day>2024-01-31</Day><Text>Coffee</Text><Helper>h</Helper><Extra>x</Extra></Item>"
    )
    assert one_event(tmp_path, fields, xml) == AccountEvent(
        source="feed",
        source_event_id="c 1:1",
        event_type="item_seen",
        account_id="c 1",
        amount=Decimal("9.90"),
        currency="EUR",
        credit_debit="DBIT",
        status="BOOK",
        booking_date=date(2024, 1, 31),
        description="Coffee",
        line=3,
        data={"ref": "1", "extra": "x"},
        record_id="1",  # as the mapping names the record in problems
    )


CONTEXTS = """
    [contexts.batch]
    element = "f:Batch"
    [contexts.batch.fields]
    batch_id = "@id"
    [contexts.account]
    element = "f:Account"
    [contexts.account.fields]
    account_id.path = ["f:Iban", "f:Other"]
    account_id.convert = ["no_spaces", "upper"]
    account_id.required = true
    account_id.label = "Account"
    account_id.missing = "the account has no id"
    owner = "f:Owner"

    [[records]]
    kind = "entry"
    element = "f:Entry"
    contexts = ["batch", "account"]
    event_type = "entry"
    event_id = "{account_id}:{ref|position_ref}"
    record_id = "{ref}"
    [records.fields]
    ref = "@ref"
    position_ref = { template = "{batch_id}#{$position}", internal = true }
    version = { template = "{$version}|{$root}|{$kind}" }

    [[records]]
    kind = "balance"
    element = "f:Balance"
    contexts = ["account"]
    event_type = "balance"
    event_id = "{account_id}:bal:{$position}"
    [records.fields]
    amount = { path = ".", convert = "decimal" }
"""


def test_contexts_nest_and_positions_count_per_kind_within_the_innermost(tmp_path: Path) -> None:
    xml = """
<Batch id="B1">
  <Account><Iban>nl91 abna 0417</Iban><Owner>Ann</Owner>
    <Balance>10</Balance><Entry ref="E1"/><Entry/><Balance>20</Balance><Entry/>
  </Account>
  <Account><Other>acc-2</Other>
    <Entry/>
  </Account>
</Batch>"""
    records = events(read(tmp_path, CONTEXTS, xml, ns="urn:test:feed:2"))
    assert [(r.source_event_id, r.amount, r.data.get("owner")) for r in records] == [
        ("NL91ABNA0417:bal:1", Decimal(10), "Ann"),
        ("NL91ABNA0417:E1", None, "Ann"),
        # read once at the first record, the context still applies after its Owner was released
        ("NL91ABNA0417:B1#2", None, "Ann"),
        ("NL91ABNA0417:bal:2", Decimal(20), "Ann"),
        ("NL91ABNA0417:B1#3", None, "Ann"),
        ("ACC-2:B1#1", None, None),  # a new account restarts the count
    ]
    assert records[1].data["version"] == "2|Feed|entry"
    assert records[1].data["batch_id"] == "B1"


def test_records_outside_a_context_lack_its_fields(tmp_path: Path) -> None:
    xml = '<Account><Iban>X9</Iban><Entry ref="E9"/></Account>'
    [event] = events(read(tmp_path, CONTEXTS, xml))
    assert (event.source_event_id, "batch_id" in event.data) == ("X9:E9", False)


def test_a_context_fault_is_reported_for_each_of_its_records(tmp_path: Path) -> None:
    xml = '<Account><Owner>Ann</Owner>\n<Entry ref="E1"/>\n<Entry ref="E2"/>\n</Account>'
    problems = read(tmp_path, CONTEXTS, xml)
    assert problems == [
        RecordProblem(4, "E1", "Account", None, "the account has no id"),
        RecordProblem(5, "E2", "Account", None, "the account has no id"),
    ]


def test_a_required_context_that_never_occurs_refuses_the_document(tmp_path: Path) -> None:
    body = CONTEXTS.replace('element = "f:Account"', 'element = "f:Account"\nrequired = true')
    records = adapter(tmp_path, body).iter_records(
        io.BytesIO(f'<Feed xmlns="{NS}"><Batch id="B"/></Feed>'.encode()), "empty.xml"
    )
    with pytest.raises(InvalidDocumentError) as caught:
        list(records)
    message = str(caught.value)
    assert message.startswith("empty.xml: the document is element 'Feed' in namespace")
    assert "holds no Account element, so there is nothing to read" in message


def test_iter_records_refuses_a_root_it_does_not_read(tmp_path: Path) -> None:
    reader = adapter(tmp_path, ITEM)
    assert reader.accepts("{urn:test:feed:2}Feed")
    assert reader.version("{urn:test:feed:2}Feed") == "2"
    assert not reader.accepts("{urn:test:feed:3}Feed")
    with pytest.raises(UnknownFormatError) as caught:
        reader.iter_records(io.BytesIO(b'<Feed xmlns="urn:test:feed:3"/>'), "v3.xml")
    assert str(caught.value) == (
        "v3.xml: the document is element 'Feed' in namespace 'urn:test:feed:3', not a Test feed "
        "document (Feed in 'urn:test:feed:1', 'urn:test:feed:2')."
    )


def test_general_xpath_expressions_work_too(tmp_path: Path) -> None:
    fields = """
    second = "f:Line[2]"
    priced = "f:Line[@price > 5]/@code"
    total = "sum(f:Line/@price)"
    upper = "translate(f:Line[1], 'abc', 'ABC')"
    lines = { count = "f:Line[@price]" }
    codes = { path = "f:Line[@price]/@code", join = "," }
    """
    xml = (
        '<Item customer="C" ref="1"><Line code="a" price="2">abc</Line>'
        '<Line code="b" price="7">two</Line><Line code="c">three</Line></Item>'
    )
    assert one_event(tmp_path, fields, xml).data == {
        "ref": "1",
        "second": "two",
        "priced": "b",
        "total": "9",
        "upper": "ABC",
        "lines": "2",
        "codes": "a,b",
    }


def test_an_invalid_general_xpath_value_names_its_line(tmp_path: Path) -> None:
    fields = 'amount = { path = "f:Amt[@kind = \'net\']", convert = "decimal" }'
    xml = '<Item customer="C" ref="1">\n<Amt kind="gross">1</Amt>\n<Amt kind="net">x</Amt>\n</Item>'
    problem = one_problem(tmp_path, fields, xml)
    assert (problem.line, problem.field, problem.value) == (5, "Amt[@kind = 'net']", "x")


def test_helpers_read_on_demand_give_the_same_values(tmp_path: Path) -> None:
    """Internal helpers read only through `from` / `switch` are computed when asked for."""
    fields = """
    side = "@side"
    fallback = { value = "nobody", internal = true }
    a_name = { path = ["f:A/f:Nm", "f:A/f:Name"], internal = true }
    b_name = { path = ["f:B/f:Nm", "f:B/f:Name"], internal = true, convert = "upper" }
    chosen = { switch = "side", cases = { A = "a_name", B = "b_name" }, internal = true }
    who = { from = ["chosen", "fallback"] }
    shout = { template = "{b_name}!" }
    """
    xml = (
        '<Item customer="C" ref="1" side="A"><A><Name>ann</Name></A><B><Nm>bob</Nm></B></Item>'
        '<Item customer="C" ref="2" side="B"><A><Nm>ann</Nm></A><B><Name>bob</Name></B></Item>'
        '<Item customer="C" ref="3" side="C"><A><Nm>ann</Nm></A></Item>'
    )
    body = ITEM + fields
    compiled = adapter(tmp_path, body)._plan(NS).records[f"{{{NS}}}Item"]
    assert {f.name for f in compiled.fields if f.lazy} == {"fallback", "a_name", "chosen"}
    first, second, third = events(read(tmp_path, body, xml))
    assert (first.data["who"], first.data["shout"]) == ("ann", "BOB!")
    assert (second.data["who"], second.data["shout"]) == ("BOB", "BOB!")
    assert (third.data["who"], "shout" in third.data) == ("nobody", False)
