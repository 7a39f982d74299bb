"""Hostile input is refused quickly, with a clear message, and without touching files or network."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.unit.xml_adapters.support import (
    CAMT054_DATA,
    HOSTILE_DATA,
    NS08,
    clark,
    document,
    entry,
    notification,
)
from xml_adapters.base import IngestError, RecordProblem, XmlInputError
from xml_adapters.camt054 import Camt054Adapter
from xml_adapters.parse import (
    MAX_DEPTH,
    MAX_RECORD_ELEMENTS,
    MAX_TEXT_BYTES,
    detect_root,
    iterparse_records,
)
from xml_adapters.registry import read_file

DOCTYPE_FILES = [
    "xxe_local_file.xml",
    "xxe_network.xml",
    "xxe_parameter_entity.xml",
    "external_dtd.xml",
    "billion_laughs.xml",
    "quadratic_blowup.xml",
]
LEAKS = ("root:x:0:0", "/bin/", "EXTERNAL-DTD-WAS-LOADED", "lollollol", "AAAAAAAAAA")


def refusals(path: Path) -> Iterator[XmlInputError]:
    """Every entry point's refusal of `path`."""
    with path.open("rb") as stream, pytest.raises(XmlInputError) as detect:
        detect_root(stream, str(path))
    yield detect.value
    with pytest.raises(XmlInputError) as registry:
        _, records = read_file(path)
        list(records)
    yield registry.value
    with path.open("rb") as stream, pytest.raises(XmlInputError) as parse:
        list(iterparse_records(stream, str(path), record_tags={clark("Ntry")}))
    yield parse.value
    with path.open("rb") as stream, pytest.raises(XmlInputError) as adapter:
        list(Camt054Adapter().iter_records(stream, str(path)))
    yield adapter.value


def test_the_fixtures_really_leak_with_a_naive_parser() -> None:
    """Guards the fixtures: with entities and DTDs on, lxml would read local files."""
    naive = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True)
    dtd = etree.tostring(etree.parse(str(HOSTILE_DATA / "external_dtd.xml"), naive))
    assert b"EXTERNAL-DTD-WAS-LOADED" in dtd
    if Path("/etc/passwd").is_file():
        xxe = etree.tostring(etree.parse(str(HOSTILE_DATA / "xxe_local_file.xml"), naive))
        assert b"root:" in xxe


@pytest.mark.timeout(5)
@pytest.mark.parametrize("name", DOCTYPE_FILES)
def test_doctype_attacks_are_refused(name: str) -> None:
    path = HOSTILE_DATA / name
    for error in refusals(path):
        message = str(error)
        assert "DOCTYPE" in message
        assert str(path) in message
        assert error.line == 2  # where the DOCTYPE is
        assert "Remove the <!DOCTYPE" in message  # what to do
        assert not any(leak in message for leak in LEAKS)


@pytest.mark.timeout(5)
@pytest.mark.parametrize("name", ["xxe_network.xml", "external_dtd.xml"])
def test_no_network_access_is_attempted(name: str, tmp_path: Path) -> None:
    """A live listener sees no connection (libxml2 builds with HTTP support would connect)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.3)
        port = server.getsockname()[1]
        text = (HOSTILE_DATA / name).read_text()
        text = text.replace("http://127.0.0.1:9/x", f"http://127.0.0.1:{port}/x")
        text = text.replace('SYSTEM "external.dtd"', f'SYSTEM "http://127.0.0.1:{port}/x.dtd"')
        assert str(port) in text
        probe = tmp_path / name
        probe.write_text(text)
        for _ in refusals(probe):
            pass
        with pytest.raises(TimeoutError):
            server.accept()


@pytest.mark.timeout(5)
def test_doctype_without_entities_is_refused_too() -> None:
    data = document([notification([entry("A")], iban="NL01")])
    data = data.replace(b"\n<Document", b"\n<!DOCTYPE Document>\n<Document", 1)
    with pytest.raises(XmlInputError, match="DOCTYPE"):
        read_file(io.BytesIO(data), path="plain-doctype.xml")


@pytest.mark.timeout(5)
def test_doctype_in_utf16_is_refused() -> None:
    text = (HOSTILE_DATA / "xxe_local_file.xml").read_text()
    data = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    with pytest.raises(XmlInputError, match="DOCTYPE") as caught:
        read_file(io.BytesIO(data), path="utf16.xml")
    assert "root:" not in str(caught.value)


@pytest.mark.timeout(5)
def test_doctype_behind_a_long_comment_is_refused() -> None:
    text = (HOSTILE_DATA / "xxe_local_file.xml").read_text()
    padded = text.replace("\n<!DOCTYPE", "\n<!--" + "pad " * 20_000 + "-->\n<!DOCTYPE", 1)
    with pytest.raises(XmlInputError, match="before the root element"):
        read_file(io.BytesIO(padded.encode()), path="padded.xml")


@pytest.mark.timeout(5)
def test_absurd_nesting_depth_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.xml"
    levels = 100_000
    opening = f'<Document xmlns="{NS08}"><BkToCstmrDbtCdtNtfctn><Ntfctn><Ntry>'
    deep.write_text(opening + "<x>" * levels + "</x>" * levels + "</Ntry></Ntfctn></Document>")
    with deep.open("rb") as stream:  # the root itself is fine; the records pass refuses
        assert detect_root(stream, str(deep)) == clark("Document")
    with pytest.raises(XmlInputError) as caught:
        _, records = read_file(deep)
        list(records)
    assert f"nested more than {MAX_DEPTH} levels deep" in str(caught.value)
    assert caught.value.line == 1


@pytest.mark.timeout(5)
@pytest.mark.parametrize("where", ["text", "attribute"])
def test_huge_text_or_attribute_is_refused(where: str, tmp_path: Path) -> None:
    huge = tmp_path / "huge.xml"
    filler = "x" * (MAX_TEXT_BYTES + 1)
    extra = (
        f"<AddtlNtryInf>{filler}</AddtlNtryInf>"
        if where == "text"
        else f'<AddtlNtryInf note="{filler}">x</AddtlNtryInf>'
    )
    huge.write_bytes(document([notification([entry("A", extra=extra)], iban="NL01")]))
    with pytest.raises(XmlInputError) as caught:
        _, records = read_file(huge)
        list(records)
    message = str(caught.value)
    assert "larger than Herald accepts" in message
    assert f"{MAX_TEXT_BYTES:,} bytes" in message
    assert len(message) < 1_000


@pytest.mark.timeout(10)
def test_a_single_giant_record_is_refused(tmp_path: Path) -> None:
    """Millions of tiny elements inside one record would otherwise all stay in memory."""
    giant = tmp_path / "giant.xml"
    extra = "<NtryDtls>" + "<TxDtls/>" * 2_000_000 + "</NtryDtls>"  # ~18 MB
    giant.write_bytes(document([notification([entry("A"), entry("B", extra=extra)], iban="NL01")]))
    with pytest.raises(XmlInputError) as caught:
        _, records = read_file(giant)
        list(records)
    assert "without a complete record (Ntry)" in str(caught.value)
    assert "after line 5" in str(caught.value)


def test_record_size_limit_can_be_lowered() -> None:
    big_entry = entry("B", extra="<AddtlNtryInf>" + "y" * 300_000 + "</AddtlNtryInf>")
    data = document([notification([entry("A"), big_entry, entry("C")], iban="NL01")])
    small = {clark("Ntry")}
    assert len(list(iterparse_records(io.BytesIO(data), "t", record_tags=small))) == 3
    with pytest.raises(XmlInputError, match="without a complete record"):
        list(iterparse_records(io.BytesIO(data), "t", record_tags=small, max_record_bytes=100_000))


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_mangled_samples_never_crash(data: st.DataObject) -> None:
    """Whatever the bytes, the outcome is records or an IngestError, never another exception."""
    sample = (CAMT054_DATA / "camt054.v8.xml").read_bytes()
    cut = data.draw(st.integers(0, len(sample)))
    junk = data.draw(st.binary(max_size=20))
    at = data.draw(st.integers(0, len(sample)))
    mangled = (sample[:cut] + sample[cut + 7 :])[:at] + junk + sample[at:]
    try:
        _, records = read_file(io.BytesIO(mangled), path="mangled.xml")
        list(records)
    except IngestError as error:
        assert "mangled.xml" in str(error)


XINCLUDE_DOC = (
    b'<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"'
    b' xmlns:xi="http://www.w3.org/2001/XInclude"><BkToCstmrDbtCdtNtfctn>\n'
    b'<xi:include href="/etc/passwd" parse="text"/>\n<xi:include href="part2.xml"/>\n'
    b"</BkToCstmrDbtCdtNtfctn></Document>\n"
)


def test_xinclude_is_refused_like_a_doctype() -> None:
    _adapter, records = read_file(io.BytesIO(XINCLUDE_DOC), path="includes.xml")
    with pytest.raises(XmlInputError) as caught:
        list(records)
    assert "includes.xml, line 3" in str(caught.value)
    assert "XInclude" in str(caught.value) and "refuses" in str(caught.value)


def test_a_20_mb_attribute_gets_the_attribute_size_message() -> None:
    head = (
        b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
        b'<BkToCstmrDbtCdtNtfctn><Ntfctn><Id>N</Id><Ntry note="'
    )
    data = head + b"a" * 20_000_000 + b'"><Amt Ccy="EUR">1</Amt></Ntry></Ntfctn>'
    data += b"</BkToCstmrDbtCdtNtfctn></Document>"
    _adapter, records = read_file(io.BytesIO(data), path="big.xml")
    with pytest.raises(XmlInputError) as caught:
        list(records)
    message = str(caught.value)
    assert "an attribute value" in message and "10,000,000 bytes" in message
    assert "without a complete record" not in message


def test_record_of_too_many_elements_is_refused_and_the_file_carries_on(tmp_path: Path) -> None:
    """A record of many small elements (lxml ~40x its bytes) is pruned while it streams and
    reported as a record problem; the records around it are read as usual."""
    extra = "<NtryDtls>" + "<TxDtls><Refs/></TxDtls>" * 150_000 + "</NtryDtls>"  # ~3.6 MB
    crowded = tmp_path / "crowded.xml"
    crowded.write_bytes(
        document([notification([entry("A"), entry("B", extra=extra), entry("C")], iban="NL01")])
    )
    _, records = read_file(crowded)
    items = list(records)
    assert [type(i).__name__ for i in items] == ["AccountEvent", "RecordProblem", "AccountEvent"]
    problem = items[1]
    assert isinstance(problem, RecordProblem)
    assert problem.record_id == "entry 2"
    assert f"holds more than {MAX_RECORD_ELEMENTS:,} elements" in problem.reason
    assert "Split the entry" in problem.reason and "line" in problem.reason


def test_record_element_limit_prunes_as_it_streams() -> None:
    """Over the limit, the unfinished record keeps only its open path, never the whole tree."""
    inner = "<TxDtls><Refs/></TxDtls>" * 20_000
    data = document([notification([entry("A", extra=f"<NtryDtls>{inner}</NtryDtls>")])])
    tags = {clark("Ntry")}
    events = list(iterparse_records(io.BytesIO(data), "t", record_tags=tags))
    assert [e.kind for e in events] == ["end"]
    kept = [
        (e.kind, len(e.element.findall(f"{clark('NtryDtls')}/*")))  # before release
        for e in iterparse_records(
            io.BytesIO(data), "t", record_tags=tags, max_record_elements=1_000
        )
    ]
    assert kept[0][0] == "refused" and len(kept) == 1
    assert kept[0][1] < 3_000  # of 20,000: at most one read chunk's worth is ever held
