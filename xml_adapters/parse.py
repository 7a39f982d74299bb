"""Hardened streaming XML parse: the single place Herald hands input to lxml."""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Collection, Iterator
from typing import Any, BinaryIO, Literal, NamedTuple, cast

from lxml import etree

from xml_adapters.base import XmlInputError

logger = logging.getLogger(__name__)

# Limits. MAX_DEPTH and MAX_TEXT_BYTES are enforced by libxml2 itself in C because `huge_tree`
# is off (no XML_PARSE_HUGE); they are named here so messages and tests can state them, and the
# test suite checks that the installed libxml2 still enforces exactly these values.
MAX_DEPTH = 256  # deepest element nesting accepted
MAX_TEXT_BYTES = 10_000_000  # largest text node; a start tag with its attributes must fit too
MAX_PROLOG_BYTES = 64 * 1024  # everything before the root element (declaration, comments)
# Memory is released at each record or context end; this bounds what accumulates in between
# (one record, or a run of input without any), so a single giant record cannot exhaust memory.
MAX_RECORD_BYTES = 16 * 1024 * 1024
# lxml spends some hundreds of bytes per element, so a record of many small elements costs ~40x
# its bytes (a 16 MiB one ~640 MB). A record holding more elements than this is refused (reported
# as a record problem, the file carries on) and pruned while it streams, so it never builds.
MAX_RECORD_ELEMENTS = 200_000
READ_CHUNK_BYTES = 64 * 1024  # bytes fed to the parser at a time (bounds parse-ahead)
_DETECT_CHUNK_BYTES = 4 * 1024
# At most this many cleared (empty) records are left in place before they are deleted.
_KEEP_CLEARED = 16

# Byte-order marks and BOM-less first bytes of `<?` / `<` (XML 1.0, appendix F), longest first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BOMLESS = (
    (b"<\0\0\0", "utf-32-le"),
    (b"\0\0\0<", "utf-32-be"),
    (b"<\0?\0", "utf-16-le"),
    (b"\0<\0?", "utf-16-be"),
)
_WHITESPACE = " \t\r\n"
# XInclude elements (the 2001 namespace and the draft's): lxml would ignore them, so a file made
# of includes would read as empty. They are refused like a DOCTYPE.
XINCLUDE_TAGS = frozenset(
    f"{{{ns}}}{local}"
    for ns in ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")
    for local in ("include", "fallback")
)
_POSITION_SUFFIX = re.compile(r", line \d+, column \d+$")
_FIX_EXPORT = "Fix the export (or ask its owner to) and send the file again."


class XmlEvent(NamedTuple):
    """A parse event handed to an adapter: `start` of a context element, or `end` of any."""

    kind: Literal["start", "end", "refused"]
    element: etree._Element
    line: int | None
    tag: str = ""  # the element's Clark tag (lxml builds it anew on each `element.tag`)


def _new_parser(
    events: tuple[Literal["start", "end"], ...], tags: Collection[str] | None
) -> etree.XMLPullParser:
    """A pull parser that never loads a DTD, expands an entity or touches the network."""
    return etree.XMLPullParser(
        events=events,
        tag=sorted(tags) if tags is not None else None,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        recover=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def detect_root(stream: BinaryIO, path: str) -> str:
    """Return the root element's Clark tag (`{namespace}local`), then rewind the stream.

    Reads only the prolog and a few KiB more. Raises XmlInputError for hostile or broken input.
    """
    stream.seek(0)
    try:
        _check_prolog(stream, path)
        parser = _new_parser(("start",), None)
        while True:
            chunk = stream.read(_DETECT_CHUNK_BYTES)
            error: etree.XMLSyntaxError | None = None
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
            except etree.XMLSyntaxError as exc:
                error = exc  # a fault after the root start is reported when records are read
            for _event, element in parser.read_events():
                assert isinstance(element, etree._Element)
                _refuse_doctype(element, path)
                return str(element.tag)
            if error is not None:
                raise _translate(error, path) from error
            if not chunk:
                raise XmlInputError("the file has no root element. " + _FIX_EXPORT, path=path)
    finally:
        stream.seek(0)


def iterparse_records(
    stream: BinaryIO,
    path: str,
    *,
    record_tags: Collection[str],
    context_tags: Collection[str] = (),
    max_record_bytes: int = MAX_RECORD_BYTES,
    max_record_elements: int = MAX_RECORD_ELEMENTS,
) -> Iterator[XmlEvent]:
    """Stream the document from its start, yielding events for the given Clark tags only.

    - `end` of each record element (fully parsed, with its `sourceline`);
    - `start` and `end` of each context element (e.g. camt's `Ntfctn`). At `start` its children
      are not parsed yet; read them at its first record's `end`, where the preceding siblings of
      the record (the context's header fields) are still in place.

    Once the consumer resumes after an `end` event, that element is cleared and its preceding
    siblings deleted, so memory stays constant however many records the file holds; more than
    `max_record_bytes` of input without a record or context end is refused. Hostile or malformed
    input raises XmlInputError (records before the fault have been yielded by then).
    A record holding more than `max_record_elements` elements is pruned as it streams and
    yielded as a `refused` event (its start line; see `record_too_large`) instead of `end`.
    """
    records, contexts = frozenset(record_tags), frozenset(context_tags)
    if not records or records & contexts:
        raise ValueError("record_tags must be non-empty and disjoint from context_tags")
    stream.seek(0)
    _check_prolog(stream, path)
    parser = _new_parser(("start", "end"), records | contexts | XINCLUDE_TAGS)
    checked = False
    open_record: etree._Element | None = None  # the record being parsed, and how many
    elements, oversized = 0, False  # elements (start tags, roughly) its input holds so far
    unreleased, last_line = 0, None  # input bytes since the last release, and its line
    since_markup, in_tag = 0, False  # bytes since the last < or >, and whether < came last
    kept = _KEEP_CLEARED  # records cleared but left in place since the last release
    while True:
        chunk = stream.read(READ_CHUNK_BYTES)
        unreleased += len(chunk)
        elements += chunk.count(b"<") - chunk.count(b"</")
        last_open, last_close = chunk.rfind(b"<"), chunk.rfind(b">")
        if last_open < 0 and last_close < 0:
            since_markup += len(chunk)
        else:
            since_markup, in_tag = (
                len(chunk) - 1 - max(last_open, last_close),
                last_open > last_close,
            )
        error: XmlInputError | None = None
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
        except etree.XMLSyntaxError as exc:
            error = _translate(exc, path)
            error.__cause__ = exc
        for event, element in parser.read_events():
            assert isinstance(element, etree._Element)
            if not checked:
                _refuse_doctype(element, path)
                checked = True
            tag = element.tag  # lxml builds the string anew on each access
            if tag in XINCLUDE_TAGS:
                _refuse_xinclude(element, path)
            if event == "start":
                if tag in contexts:
                    kept = _KEEP_CLEARED  # its header goes at its first record's end
                    yield XmlEvent("start", element, line_of(element), tag)
                elif open_record is None:
                    open_record, elements, oversized = element, 0, False
                continue
            if element is open_record:
                open_record = None
                if oversized:
                    yield XmlEvent("refused", element, line_of(element), tag)
                    _release(element)
                    unreleased = 0
                    continue
            sourceline: Any = element.sourceline  # as line_of, without its call per record
            last_line = sourceline
            yield XmlEvent("end", element, last_line, tag)
            if kept < _KEEP_CLEARED and tag not in contexts:
                # Cleared records stay among their siblings for a while: deleting them a few
                # at a time costs less than one by one (each delete asks lxml for proxies).
                element.clear()
                kept += 1
            else:
                _release(element)
                kept = 0
            unreleased = 0
        if open_record is not None and elements > max_record_elements:
            oversized = True
            _prune(open_record)
        if error is not None:
            raise error
        if unreleased > max_record_bytes and since_markup > MAX_TEXT_BYTES:
            # libxml2 has not finished the value yet; it would refuse it anyway.
            what = "an attribute value (or a name)" if in_tag else "a text"
            raise XmlInputError(
                f"{what} is larger than Herald accepts ({MAX_TEXT_BYTES:,} bytes for text and "
                f"attribute values). {_FIX_EXPORT}",
                path=path,
            )
        if unreleased > max_record_bytes:
            after = f" after line {last_line}" if last_line else ""
            raise XmlInputError(
                f"more than {max_record_bytes:,} bytes{after} without a complete record "
                f"({', '.join(sorted(_local(t) for t in records))}); Herald refuses records this "
                "large to keep memory bounded. Split the export into smaller records or files.",
                path=path,
            )
        if not chunk:
            return


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def line_of(element: etree._Element) -> int | None:
    """The source line an element starts on (lxml-stubs mistype `sourceline`)."""
    return cast("int | None", element.sourceline)


def record_too_large(tag: str, line: int | None, limit: int = MAX_RECORD_ELEMENTS) -> str:
    """The reason a record over the element limit is refused with."""
    where = f" starting on line {line}" if line else ""
    return (
        f"the {_local(tag)} record{where} holds more than {limit:,} elements; Herald refuses "
        "records this large to keep memory bounded (the rest of the file is read). Split the "
        "entry (e.g. a batch of many transactions) into smaller ones and send it again."
    )


def _prune(record: etree._Element) -> None:
    """Drop the finished part of a record still being parsed: at each level of the open path
    (the chain of last children) every child but the last one, which alone may be unfinished."""
    node: etree._Element | None = record
    while node is not None and len(node):
        del node[:-1]
        node = node[-1]


def _release(element: etree._Element) -> None:
    """Free a processed element and everything before it under the same parent."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _check_prolog(stream: BinaryIO, path: str) -> None:
    """Refuse a DOCTYPE (any DTD at all) before lxml sees a byte; leaves the stream at 0.

    camt and UBL never need a DTD, and refusing it outright closes XXE (local files, network),
    external DTDs, billion laughs and quadratic blowup without ever expanding an entity.
    """
    head = _read_at_most(stream, MAX_PROLOG_BYTES + 1)
    stream.seek(0)
    complete = len(head) <= MAX_PROLOG_BYTES
    text = _decode_head(head[:MAX_PROLOG_BYTES])
    if not text.strip(_WHITESPACE) and complete:
        raise XmlInputError("the file is empty. " + _FIX_EXPORT, path=path)
    pos, unfinished = 0, False
    while True:
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= len(text):
            break
        if text.startswith("<?", pos) or text.startswith("<!--", pos):
            closer = "?>" if text[pos + 1] == "?" else "-->"
            end = text.find(closer, pos + 2)
            if end < 0:
                unfinished = True
                break
            pos = end + len(closer)
            continue
        line, column = _line_column(text, pos)
        if text.startswith("<!DOCTYPE", pos):
            logger.warning("refused %s: DOCTYPE at line %s", path, line)
            raise XmlInputError(
                "the document declares a DOCTYPE. Herald refuses DTDs and entity declarations "
                "(they enable XXE file/network access and entity-expansion attacks, and camt and "
                "UBL documents never need them). Remove the <!DOCTYPE ...> declaration from the "
                "export.",
                path=path,
                line=line,
                column=column,
            )
        if text.startswith("<", pos) and pos + 1 < len(text) and _is_name_start(text[pos + 1]):
            return
        raise XmlInputError(
            "unexpected content before the root element: this is not a well-formed XML "
            "document, or it uses an encoding Herald does not read (use UTF-8). " + _FIX_EXPORT,
            path=path,
            line=line,
            column=column,
        )
    if not complete:
        raise XmlInputError(
            f"more than {MAX_PROLOG_BYTES // 1024} KiB come before the root element. Remove the "
            "long comments or processing instructions at the top of the file.",
            path=path,
        )
    if unfinished:
        what = "the file ends inside a comment or declaration, before its root element. "
    else:
        what = "the file has no root element (only a declaration or comments). "
    raise XmlInputError(what + _FIX_EXPORT, path=path)


def _read_at_most(stream: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        part = stream.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _decode_head(head: bytes) -> str:
    """Decode enough of the file to see its markup; ASCII-compatible encodings read as Latin-1."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, errors="replace")
    for first_bytes, encoding in _BOMLESS:
        if head.startswith(first_bytes):
            return head.decode(encoding, errors="replace")
    return head.decode("latin-1")


def _is_name_start(char: str) -> bool:
    return char.isalpha() or char in "_:" or ord(char) > 0x7F


def _line_column(text: str, pos: int) -> tuple[int, int]:
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _refuse_doctype(element: etree._Element, path: str) -> None:
    """Second line of defence: the parser itself saw a DOCTYPE the prolog check did not."""
    info: Any = element.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
    if info.doctype or info.internalDTD is not None or info.system_url or info.public_id:
        raise XmlInputError(
            "the document declares a DOCTYPE; Herald refuses DTDs and entity declarations. "
            "Remove the <!DOCTYPE ...> declaration from the export.",
            path=path,
        )


def _refuse_xinclude(element: etree._Element, path: str) -> None:
    logger.warning("refused %s: XInclude at line %s", path, line_of(element))
    raise XmlInputError(
        "the document uses XInclude (an xi:include element). Herald refuses XInclude like a "
        "DOCTYPE: it would read other files or URLs, and camt and UBL documents never need it. "
        "Send the complete document with the included content in place.",
        path=path,
        line=line_of(element),
    )


def _translate(exc: etree.XMLSyntaxError, path: str) -> XmlInputError:
    """Turn lxml's error into one that says what, where, and what to do."""
    message, line, column = _POSITION_SUFFIX.sub("", str(exc.msg or exc)), None, None
    if exc.position and exc.position[0] > 0:
        line, column = exc.position
    else:
        # lxml sometimes reports a follow-up error ("no element found" at 0:0); the real one is
        # the latest fatal entry of this thread's error log, logged by the parse that just failed.
        log: Any = exc.error_log
        fatal = [e for e in log if e.level_name == "FATAL"] if log is not None else []
        if fatal:
            message, line, column = str(fatal[-1].message), fatal[-1].line, fatal[-1].column
    message = message.strip()
    if "Excessive depth" in message:
        what = (
            f"elements are nested more than {MAX_DEPTH} levels deep; Herald refuses such "
            "documents (a broken or hostile export)."
        )
    elif any(s in message for s in ("too long", "limit exceeded", "huge", "Huge")):
        what = (
            f"a text, attribute or name is larger than Herald accepts ({MAX_TEXT_BYTES:,} bytes "
            f"for text and attribute values; libxml2: {message})."
        )
    elif "Entity" in message and "not defined" in message:
        what = (
            f"{message}: only the predefined entities (&amp; &lt; &gt; &quot; &apos;) and "
            "character references such as &#233; are accepted."
        )
    elif "ntity" in message or "amplification" in message:
        what = f"entity expansion refused ({message})."
    else:
        what = f"the file is not well-formed XML: {message}."
    return XmlInputError(f"{what} {_FIX_EXPORT}", path=path, line=line, column=column)
