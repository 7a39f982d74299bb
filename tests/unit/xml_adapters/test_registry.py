"""Registry: adapter lookup, format detection by root element, and the read_file entry point."""

from __future__ import annotations

import gc
import io
import os
from pathlib import Path

import pytest

from tests.unit.xml_adapters.support import (
    CAMT054_DATA,
    OTHER_DATA,
    document,
    entry,
    notification,
)
from xml_adapters.base import AccountEvent, UnknownFormatError
from xml_adapters.camt054 import Camt054Adapter
from xml_adapters.registry import ADAPTERS, detect_adapter, get_adapter, read_file

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


def test_registry_is_explicit_and_keyed_by_adapter_key() -> None:
    assert list(ADAPTERS) == ["camt054"]
    for key, adapter in ADAPTERS.items():
        assert adapter.key == key
        assert adapter.title
    assert isinstance(get_adapter("camt054"), Camt054Adapter)


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
    ("data", "found"),
    [
        (
            (OTHER_DATA / "camt053.v2.minimal.xml").read_bytes(),
            "ISO 20022 camt.053.001.02 message",
        ),
        (UBL_INVOICE, "'Invoice' in namespace 'urn:oasis:names:specification:ubl:schema:xsd"),
        (b"<Document><Ntfctn/></Document>", "'Document' (no namespace)"),
    ],
    ids=["camt053", "ubl-invoice", "no-namespace"],
)
def test_other_formats_are_refused_listing_the_known_ones(data: bytes, found: str) -> None:
    with pytest.raises(UnknownFormatError) as caught:
        detect_adapter(io.BytesIO(data), "inbox/file.xml")
    message = str(caught.value)
    assert message.startswith("inbox/file.xml: ")
    assert found in message
    assert "Known formats: camt054 (ISO 20022 camt.054" in message
    assert "001.02, 001.04, 001.08" in message


def test_read_file_from_path_str_and_pathlike() -> None:
    path = CAMT054_DATA / "camt054.v8.xml"
    for source in (path, str(path)):
        adapter, records = read_file(source)
        assert adapter.key == "camt054"
        [event] = list(records)
        assert isinstance(event, AccountEvent)
        assert event.source_event_id == "CH2801234000123456789:ACSR160617103200001"


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
