"""describe_adapters and check_file: what `herald adapters list` / `check` will show."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.xml_adapters.support import (
    BESPOKE_FEEDS,
    CAMT053_DATA,
    CAMT054_DATA,
    EXAMPLE_MAPPINGS,
)
from xml_adapters.check import check_file, describe_adapters
from xml_adapters.registry import ADAPTERS, MAPPINGS_DIR, load_adapters


def test_describe_adapters_lists_every_adapter_with_its_formats() -> None:
    described = describe_adapters()
    json.dumps(described)  # JSON-ready
    assert [d["key"] for d in described] == list(ADAPTERS)
    by_key = {d["key"]: d for d in described}
    camt054 = by_key["camt054"]
    assert camt054["title"] == "ISO 20022 camt.054 Bank-to-Customer Debit/Credit Notification"
    assert camt054["formats"] == [
        {
            "root": "Document",
            "namespaces": [
                f"urn:iso:std:iso:20022:tech:xsd:camt.054.001.{v:02d}" for v in range(1, 14)
            ],
        }
    ]
    assert camt054["versions"] == [f"001.{v:02d}" for v in range(1, 14)]
    assert camt054["source"] == str(MAPPINGS_DIR / "camt054.toml")
    assert camt054["builtin"] is True
    assert [r["kind"] for r in by_key["camt053"]["records"]] == ["balance", "entry"]
    assert [f["root"] for f in by_key["ubl_invoice"]["formats"]] == ["Invoice", "CreditNote"]
    assert by_key["shipment_status"]["formats"] == [
        {"root": "TRACKTRACE_EXPORT", "namespaces": [""]}
    ]
    assert all(d["description"] for d in described)


def test_describe_adapters_marks_extra_mappings() -> None:
    adapters = load_adapters(EXAMPLE_MAPPINGS)
    extra = describe_adapters(adapters)[-1]
    assert (extra["key"], extra["builtin"]) == ("example_waterworks", False)
    assert extra["source"] == str(EXAMPLE_MAPPINGS / "README-example.toml")


def test_check_file_summarises_events_and_problems() -> None:
    result = check_file(BESPOKE_FEEDS / "shipment-status.xml", limit=2)
    json.dumps(result)
    assert result["adapter"] == "shipment_status"
    assert (result["records"], result["events"], result["problems"]) == (7, 6, 1)
    assert result["event_types"] == {
        "shipment_delayed": 1,
        "shipment_delivered": 1,
        "shipment_exception": 1,
        "shipment_out_for_delivery": 1,
        "shipment_shipped": 2,
    }
    assert [e["source_event_id"] for e in result["first_events"]] == [
        "NP123456785NL-1",
        "NP123456785NL-2",
    ]
    assert result["problem_messages"] == [
        "line 64 record NP876543210NL-2 field NEW_ETA='25-11-2026 morning': not a date-time "
        "with a zone like 2024-01-31T13:15:00+01:00"
    ]
    assert (result["error"], result["ok"]) == (None, False)


def test_check_file_of_a_clean_file_is_ok() -> None:
    result = check_file(CAMT054_DATA / "camt054.v8.xml", adapter_key="camt054")
    # one batch entry of three transactions: the entry and each transaction
    assert (result["events"], result["problems"], result["ok"]) == (4, 0, True)
    assert result["title"] == ADAPTERS["camt054"].title


def test_check_file_reports_errors_instead_of_raising(tmp_path: Path) -> None:
    wrong = check_file(CAMT053_DATA / "camt053.v2.wrong.xml")
    assert wrong["adapter"] == "camt053"
    assert "holds no Stmt element" in (wrong["error"] or "") and not wrong["ok"]
    unknown = tmp_path / "order.xml"
    unknown.write_text('<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>')
    result = check_file(unknown)
    assert result["adapter"] is None
    assert "no adapter reads a document whose root is element 'Order'" in (result["error"] or "")
    assert "Known formats: camt054" in (result["error"] or "")
    forced = check_file(CAMT054_DATA / "camt054.v8.xml", adapter_key="mt940")
    assert "unknown format 'mt940'" in (forced["error"] or "")
    missing = check_file(tmp_path / "nothing.xml")
    assert (
        missing["error"]
        == f"{tmp_path / 'nothing.xml'}: cannot read the file (No such file or directory)"
    )
    broken = tmp_path / "broken.xml"
    broken.write_text('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><Ntfctn>')
    assert "not well-formed" in (check_file(broken)["error"] or "")


def test_check_file_writes_nothing(tmp_path: Path) -> None:
    sample = tmp_path / "feed.xml"
    sample.write_bytes((BESPOKE_FEEDS / "itinerary-changes.xml").read_bytes())
    before = sorted(p.name for p in tmp_path.iterdir())
    check_file(sample)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
