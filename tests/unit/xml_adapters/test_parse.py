"""The hardened streaming parse: root detection, record events, constant memory, limits, faults."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import pytest
from lxml import etree

from tests.unit.xml_adapters.support import (
    CAMT054_DATA,
    MALFORMED_DATA,
    NS08,
    clark,
    document,
    entry,
    notification,
    write_big_camt054,
)
from xml_adapters.base import XmlInputError
from xml_adapters.parse import (
    MAX_DEPTH,
    MAX_PROLOG_BYTES,
    MAX_TEXT_BYTES,
    detect_root,
    iterparse_records,
)

NTRY, NTFCTN = clark("Ntry"), clark("Ntfctn")


class CountingStream(io.BytesIO):
    """A BytesIO that remembers how many bytes were read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def parse_all(stream: BinaryIO, path: str = "test.xml") -> list[tuple[str, str, int | None]]:
    return [
        (e.kind, str(e.element.tag), e.line)
        for e in iterparse_records(stream, path, record_tags={NTRY}, context_tags={NTFCTN})
    ]


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("camt054.v2.xml", "02"),
        ("camt054.v4.xml", "04"),
        ("camt054.v8.xml", "08"),
        ("camt054.v8-with-financial-institution.xml", "08"),
    ],
)
def test_detect_root_gives_the_clark_tag_and_rewinds(name: str, version: str) -> None:
    with (CAMT054_DATA / name).open("rb") as stream:
        stream.read(100)
        root = detect_root(stream, name)
        assert stream.tell() == 0
    assert root == f"{{urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}}}Document"


def test_detect_root_reads_only_the_head(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    write_big_camt054(big, notifications=1, entries_each=20_000)
    stream = CountingStream(big.read_bytes())
    assert detect_root(stream, "big.xml") == clark("Document")
    assert stream.bytes_read <= MAX_PROLOG_BYTES + 8 * 1024
    assert stream.tell() == 0


def test_detect_root_leaves_later_faults_to_the_record_pass() -> None:
    path = MALFORMED_DATA / "mismatched_tag.xml"
    with path.open("rb") as stream:
        assert detect_root(stream, str(path)) == clark("Document")
        with pytest.raises(XmlInputError):
            parse_all(stream, str(path))


def test_records_and_context_events_in_document_order_with_lines() -> None:
    data = document(
        [
            notification([entry("A"), entry("B")], ntfctn_id="N1", iban="NL01"),
            notification([entry("C")], ntfctn_id="N2", iban="NL02"),
        ]
    )
    assert parse_all(io.BytesIO(data)) == [
        ("start", NTFCTN, 4),
        ("end", NTRY, 5),
        ("end", NTRY, 6),
        ("end", NTFCTN, 4),
        ("start", NTFCTN, 8),
        ("end", NTRY, 9),
        ("end", NTFCTN, 8),
    ]


def test_context_is_readable_at_each_notifications_first_record() -> None:
    data = document(
        [
            notification([entry("A"), entry("B")], ntfctn_id="N1", iban="NL01"),
            notification([entry("C")], ntfctn_id="N2", iban="NL02"),
        ]
    )
    seen, first = [], True
    for event in iterparse_records(
        io.BytesIO(data), "t.xml", record_tags={NTRY}, context_tags={NTFCTN}
    ):
        if event.element.tag == NTFCTN:
            first = event.kind == "start"
            continue
        parent = event.element.getparent()
        assert parent is not None
        if first:
            seen.append(parent.findtext(f"{clark('Acct')}/{clark('Id')}/{clark('IBAN')}"))
            first = False
        ref = event.element.findtext(clark("AcctSvcrRef"))
        seen.append(ref)
    assert seen == ["NL01", "A", "B", "NL02", "C"]


def test_memory_stays_constant_over_200k_entries(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    total = write_big_camt054(big, notifications=4, entries_each=50_000)
    count = widest_ntfctn = widest_container = 0
    last_line = None
    with big.open("rb") as stream:
        for event in iterparse_records(stream, str(big), record_tags={NTRY}, context_tags={NTFCTN}):
            if event.element.tag != NTRY:
                continue
            count += 1
            ntfctn = event.element.getparent()
            assert ntfctn is not None
            container = ntfctn.getparent()
            assert container is not None
            widest_ntfctn = max(widest_ntfctn, len(ntfctn))
            widest_container = max(widest_container, len(container))
            last_line = event.line
    assert count == total == 200_000
    # Without releasing, a Ntfctn would hold 50,000 entries. Parse-ahead within one read chunk
    # (64 KiB, ~170-byte entries) is all that may be alive at once.
    assert widest_ntfctn < 1_000
    assert widest_container <= 3
    assert last_line == 200_000 + 4 * 2 + 1 + 2  # line numbers beyond 65,535 stay exact


def test_record_tags_must_be_given_and_distinct() -> None:
    with pytest.raises(ValueError):
        list(iterparse_records(io.BytesIO(b"<a/>"), "t", record_tags=set()))
    with pytest.raises(ValueError):
        list(iterparse_records(io.BytesIO(b"<a/>"), "t", record_tags={"a"}, context_tags={"a"}))


@pytest.mark.parametrize(
    ("name", "line", "column", "what"),
    [
        ("truncated.xml", 13, 16, "Couldn't find end of Start Tag CdtDbt"),
        ("mismatched_tag.xml", 13, 38, "Opening and ending tag mismatch"),
    ],
)
def test_malformed_xml_says_where(name: str, line: int, column: int, what: str) -> None:
    path = MALFORMED_DATA / name
    with path.open("rb") as stream, pytest.raises(XmlInputError) as caught:
        parse_all(stream, str(path))
    error = caught.value
    assert (error.path, error.line, error.column) == (str(path), line, column)
    message = str(error)
    assert message.startswith(f"{path}, line {line}, column {column}: ")
    assert what in message
    assert "not well-formed XML" in message
    assert "send the file again" in message  # what to do


def test_records_before_a_fault_are_still_delivered() -> None:
    data = document([notification([entry("A"), entry("B")], iban="NL01")])
    broken = data.replace(b"</BkToCstmrDbtCdtNtfctn>", b"</Oops>")
    seen = []
    with pytest.raises(XmlInputError, match="mismatch"):
        for event in iterparse_records(io.BytesIO(broken), "t", record_tags={NTRY}):
            seen.append(event.element.findtext(clark("AcctSvcrRef")))
    assert seen == ["A", "B"]


def test_undefined_entity_is_named_with_its_position() -> None:
    data = document([notification([entry("A", extra="<AddtlNtryInf>&nbsp;</AddtlNtryInf>")])])
    with pytest.raises(XmlInputError) as caught:
        parse_all(io.BytesIO(data))
    assert caught.value.line == 5
    assert "Entity 'nbsp' not defined" in str(caught.value)
    assert "&amp;" in str(caught.value)  # says what is accepted instead


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"", "empty"),
        (b"  \n\t ", "empty"),
        (b'<?xml version="1.0"?>\n<!-- nothing -->\n', "no root element"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not a well-formed XML document"),
        (b'{"Document": {}}', "not a well-formed XML document"),
        (b"<?xml version='1.0'?>\n<!-- never closed", "ends inside a comment"),
    ],
)
def test_not_xml_at_all(data: bytes, what: str) -> None:
    with pytest.raises(XmlInputError, match=what):
        detect_root(io.BytesIO(data), "x.bin")
    with pytest.raises(XmlInputError, match=what):
        parse_all(io.BytesIO(data))


def test_comments_pis_and_bom_before_the_root_are_fine() -> None:
    data = document([notification([entry("A")])])
    data = data.replace(b"\n<Document", b"\n<!-- exported by X -->\n<?producer v=1?>\n<Document")
    with_bom = b"\xef\xbb\xbf" + data
    assert detect_root(io.BytesIO(with_bom), "t") == clark("Document")
    assert [e[1] for e in parse_all(io.BytesIO(with_bom))] == [NTFCTN, NTRY, NTFCTN]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_documents_are_read(encoding: str) -> None:
    text = document([notification([entry("A")])]).decode()
    data = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode(encoding)
    assert detect_root(io.BytesIO(data), "t") == clark("Document")
    assert [e[1] for e in parse_all(io.BytesIO(data))] == [NTFCTN, NTRY, NTFCTN]


def test_prolog_longer_than_the_limit_is_refused() -> None:
    comment = b"<!--" + b"x" * MAX_PROLOG_BYTES + b"-->\n"
    data = b'<?xml version="1.0"?>\n' + comment + b"<Document/>"
    with pytest.raises(XmlInputError, match="KiB come before the root element"):
        detect_root(io.BytesIO(data), "t")


def test_limits_are_the_ones_libxml2_enforces() -> None:
    """MAX_DEPTH and MAX_TEXT_BYTES are enforced by libxml2 (huge_tree off): keep them honest."""

    def run(data: bytes) -> None:
        list(iterparse_records(io.BytesIO(data), "t", record_tags={"r"}))

    run(b"<r>" * MAX_DEPTH + b"</r>" * MAX_DEPTH)
    with pytest.raises(XmlInputError, match=f"more than {MAX_DEPTH} levels"):
        run(b"<r>" * (MAX_DEPTH + 1) + b"</r>" * (MAX_DEPTH + 1))
    run(b"<a><r>" + b"x" * MAX_TEXT_BYTES + b"</r></a>")
    with pytest.raises(XmlInputError, match="larger than Herald accepts"):
        run(b"<a><r>" + b"x" * (MAX_TEXT_BYTES + 1) + b"</r></a>")


def test_parser_never_hands_out_comments_or_pis() -> None:
    data = b"<a><r><!-- c --><?pi x?><v>1</v></r></a>"
    children = [
        [child.tag for child in event.element]
        for event in iterparse_records(io.BytesIO(data), "t", record_tags={"r"})
    ]
    assert children == [["v"]]


def test_elements_are_released_once_the_consumer_moves_on() -> None:
    data = b"<a><r><v>1</v></r><r><v>2</v></r></a>"
    events = list(iterparse_records(io.BytesIO(data), "t", record_tags={"r"}))
    assert all(isinstance(e.element, etree._Element) and len(e.element) == 0 for e in events)


def test_namespace_matters_for_record_tags() -> None:
    data = document([notification([entry("A")])])
    other_ns = {"{urn:other}Ntry"}
    assert list(iterparse_records(io.BytesIO(data), "t", record_tags=other_ns)) == []
    assert len(list(iterparse_records(io.BytesIO(data), "t", record_tags={NTRY}))) == 1
    assert NS08 in NTRY
