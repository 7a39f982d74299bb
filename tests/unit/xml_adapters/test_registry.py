"""Registry: adapter lookup, format detection by root element, and the read_file entry point."""

from __future__ import annotations

import gc
import io
import os
from pathlib import Path

import pytest

from tests.unit.xml_adapters.support import (
    CAMT054_DATA,
    UBL_DATA,
    document,
    entry,
    notification,
    write_mapping,
)
from xml_adapters.base import AccountEvent, MappingError, UnknownFormatError
from xml_adapters.camt054 import Camt054Adapter
from xml_adapters.mapping import MappingAdapter
from xml_adapters.registry import (
    ADAPTERS,
    BUILTIN_MAPPINGS,
    MAPPINGS_DIR,
    detect_adapter,
    get_adapter,
    install_adapters,
    load_adapters,
    read_file,
)

SAMPLES = [
    "camt054.v2.xml",
    "camt054.v4.xml",
    "camt054.v8.xml",
    "camt054.v8-with-financial-institution.xml",
]
UBL_INVOICE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>INV-1</cbc:ID>
  <cbc:DueDate>2024-02-29</cbc:DueDate>
</Invoice>
"""
UBL_ORDER = b"""<?xml version="1.0" encoding="UTF-8"?>
<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>PO-1</cbc:ID>
</Order>
"""
BUILTIN_KEYS = [
    "camt054",
    "camt053",
    "camt052",
    "ubl_invoice",
    "shipment_status",
    "itinerary_change",
]


def root(tag: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<{tag.split("}")[-1]} xmlns="{tag[1:].split("}")[0]}"/>'.encode()
    )


def test_registry_is_explicit_and_keyed_by_adapter_key() -> None:
    assert list(ADAPTERS) == BUILTIN_KEYS
    assert [name.removesuffix(".toml") for name in BUILTIN_MAPPINGS] == BUILTIN_KEYS
    for key, adapter in ADAPTERS.items():
        assert adapter.key == key
        assert adapter.title
        assert isinstance(adapter, MappingAdapter)
        assert adapter.source == str(MAPPINGS_DIR / f"{key}.toml")


def test_the_camt054_class_is_the_builtin_mapping() -> None:
    direct = Camt054Adapter()
    assert (direct.key, direct.title, direct.versions) == (
        "camt054",
        get_adapter("camt054").title,
        tuple(f"001.{v:02d}" for v in range(1, 14)),
    )


def test_unknown_key_lists_the_known_ones() -> None:
    with pytest.raises(UnknownFormatError) as caught:
        get_adapter("mt940")
    assert "'mt940'" in str(caught.value)
    assert "camt054" in str(caught.value)


@pytest.mark.parametrize("name", SAMPLES)
def test_detects_camt054_for_every_version(name: str) -> None:
    with (CAMT054_DATA / name).open("rb") as stream:
        adapter = detect_adapter(stream, name)
        assert stream.tell() == 0
    assert adapter.key == "camt054"


@pytest.mark.parametrize(
    ("tag", "key"),
    [
        ("{urn:iso:std:iso:20022:tech:xsd:camt.054.001.02}Document", "camt054"),
        ("{urn:iso:std:iso:20022:tech:xsd:camt.054.001.08}Document", "camt054"),
        ("{urn:iso:std:iso:20022:tech:xsd:camt.053.001.02}Document", "camt053"),
        ("{urn:iso:std:iso:20022:tech:xsd:camt.053.001.04}Document", "camt053"),
        ("{urn:iso:std:iso:20022:tech:xsd:camt.053.001.08}Document", "camt053"),
        ("{urn:iso:std:iso:20022:tech:xsd:camt.052.001.02}Document", "camt052"),
        ("{urn:iso:std:iso:20022:tech:xsd:camt.052.001.08}Document", "camt052"),
        ("{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice", "ubl_invoice"),
        ("{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote", "ubl_invoice"),
        ("{urn:example-air:ops:itinerary-change:1}ItineraryChangeFeed", "itinerary_change"),
    ],
)
def test_detects_each_format_from_root_and_namespace(tag: str, key: str) -> None:
    assert detect_adapter(io.BytesIO(root(tag)), "file.xml").key == key
    others = [a.key for a in ADAPTERS.values() if a.accepts(tag)]
    assert others == [key]  # exactly one adapter claims each root


def test_detects_a_no_namespace_root() -> None:
    data = b"<TRACKTRACE_EXPORT/>"
    assert detect_adapter(io.BytesIO(data), "tt.xml").key == "shipment_status"
    namespaced = b'<TRACKTRACE_EXPORT xmlns="urn:other"/>'
    with pytest.raises(UnknownFormatError):
        detect_adapter(io.BytesIO(namespaced), "tt.xml")


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (
            root("{urn:iso:std:iso:20022:tech:xsd:pain.001.001.09}Document"),
            "ISO 20022 pain.001.001.09 message",
        ),
        (
            root("{urn:iso:std:iso:20022:tech:xsd:camt.054.001.99}Document"),
            "ISO 20022 camt.054.001.99 message",
        ),
        (UBL_ORDER, "'Order' in namespace 'urn:oasis:names:specification:ubl:schema:xsd:Order-2'"),
        (
            root("{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}Invoice"),
            "'Invoice' in namespace 'urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2'",
        ),
        (b"<Document><Ntfctn/></Document>", "'Document' (no namespace)"),
    ],
    ids=["pain001", "camt054-v99", "ubl-order", "ubl-mixed-up", "no-namespace"],
)
def test_other_formats_are_refused_listing_the_known_ones(data: bytes, found: str) -> None:
    with pytest.raises(UnknownFormatError) as caught:
        detect_adapter(io.BytesIO(data), "inbox/file.xml")
    message = str(caught.value)
    assert message.startswith("inbox/file.xml: ")
    assert found in message
    assert "Known formats: camt054 (ISO 20022 camt.054" in message
    assert "001.01, 001.02, 001.03, 001.04" in message
    for key in BUILTIN_KEYS:
        assert f"{key} (" in message


def test_the_sales_order_sample_is_an_invoice() -> None:
    """PEPPOL's sales-order-example.xml is an Invoice that references a sales order."""
    adapter, records = read_file(UBL_DATA / "sales-order-example.xml")
    [event] = list(records)
    assert adapter.key == "ubl_invoice"
    assert isinstance(event, AccountEvent)
    assert (event.event_type, event.data["sales_order_id"]) == ("invoice_issued", "123456")


def test_read_file_from_path_str_and_pathlike() -> None:
    path = CAMT054_DATA / "camt054.v8.xml"
    for source in (path, str(path)):
        adapter, records = read_file(source)
        assert adapter.key == "camt054"
        event, *transactions = list(records)  # a batch entry and its three transactions
        assert isinstance(event, AccountEvent)
        assert event.source_event_id == "CH2801234000123456789:ACSR160617103200001"
        assert len(transactions) == 3


def test_read_file_from_a_file_object_reads_from_its_start() -> None:
    stream = io.BytesIO(document([notification([entry("A"), entry("B")], iban="NL01")]))
    stream.seek(50)
    adapter, records = read_file(stream, path="upload.xml")
    refs = [r.source_event_id for r in records if isinstance(r, AccountEvent)]
    assert (adapter.key, refs) == ("camt054", ["NL01:A", "NL01:B"])
    assert not stream.closed  # the caller owns it


def test_forced_key_must_match_the_document() -> None:
    adapter, _ = read_file(CAMT054_DATA / "camt054.v2.xml", "camt054")
    assert adapter.key == "camt054"
    with pytest.raises(UnknownFormatError, match=r"camt054 adapter .* does not read"):
        read_file(io.BytesIO(UBL_INVOICE), "camt054", path="invoice.xml")
    with pytest.raises(UnknownFormatError, match="unknown format 'ubl'"):
        read_file(io.BytesIO(UBL_INVOICE), "ubl")
    assert read_file(io.BytesIO(UBL_INVOICE), "ubl_invoice")[0].key == "ubl_invoice"


def test_iter_records_of_an_adapter_refuses_another_format() -> None:
    """ingest calls get_adapter(key).iter_records directly: the root is checked there too."""
    with pytest.raises(UnknownFormatError) as caught:
        get_adapter("camt052").iter_records(io.BytesIO(UBL_INVOICE), "inv.xml")
    message = str(caught.value)
    assert message.startswith("inv.xml: the document is element 'Invoice'")
    assert "urn:iso:std:iso:20022:tech:xsd:camt.052.001.08" in message


EXTRA = """
    key = "extra_feed"
    title = "An extra feed"
    [[accept]]
    root = "Feed"
    namespaces = [""]
    [[records]]
    kind = "item"
    element = "Item"
    event_type = "item_seen"
    event_id = "{account_id}:{ref}"
    [records.fields]
    account_id = { path = "@customer", required = true }
    ref = { path = "@ref", required = true }
"""


def test_extra_mapping_directory_adds_adapters(tmp_path: Path) -> None:
    write_mapping(tmp_path, EXTRA)
    (tmp_path / "notes.txt").write_text("not a mapping")
    adapters = load_adapters(tmp_path)
    assert list(adapters) == [*BUILTIN_KEYS, "extra_feed"]
    data = b'<Feed><Item customer="C1" ref="R1"/><Item customer="C2" ref="R2"/></Feed>'
    adapter, records = read_file(io.BytesIO(data), adapters=adapters)
    ids = [r.source_event_id for r in records if isinstance(r, AccountEvent)]
    assert (adapter.key, ids) == ("extra_feed", ["C1:R1", "C2:R2"])
    assert "extra_feed" not in ADAPTERS  # loading alone changes nothing in use


def test_install_adapters_replaces_the_adapters_in_use(tmp_path: Path) -> None:
    write_mapping(tmp_path, EXTRA)
    registry = ADAPTERS
    try:
        assert install_adapters(tmp_path) is registry
        assert get_adapter("extra_feed").title == "An extra feed"
        (tmp_path / "broken.toml").write_text('key = "x"\n')
        with pytest.raises(MappingError, match=r"broken\.toml"):
            install_adapters(tmp_path)
        assert "extra_feed" in ADAPTERS  # a failed reload leaves the adapters in use alone
    finally:
        install_adapters(None)
    assert list(ADAPTERS) == BUILTIN_KEYS


def test_an_extra_mapping_cannot_take_a_builtin_key(tmp_path: Path) -> None:
    write_mapping(tmp_path, EXTRA.replace('"extra_feed"', '"camt054"'), name="mine.toml")
    with pytest.raises(MappingError) as caught:
        load_adapters(tmp_path)
    message = str(caught.value)
    assert "mine.toml: key:" in message
    assert "already the key of" in message and "camt054.toml" in message


def test_a_missing_mapping_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="does not exist"):
        load_adapters(tmp_path / "nope")


def test_unseekable_stream_is_refused_with_advice() -> None:
    read_end, write_end = os.pipe()
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe, pytest.raises(ValueError, match="seekable"):
        read_file(pipe)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count open files")
def test_read_file_does_not_leak_file_handles() -> None:
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    path = CAMT054_DATA / "camt054.v4.xml"
    before = open_files()
    _, never_started = read_file(path)
    assert open_files() == before  # detection closed its handle; iteration has not begun
    _, records = read_file(path)
    next(records)
    assert open_files() == before + 1
    records.close()  # type: ignore[attr-defined]
    assert open_files() == before
    _, exhausted = read_file(path)
    list(exhausted)
    del never_started
    gc.collect()
    assert open_files() == before
