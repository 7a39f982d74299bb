"""Test data locations, camt.054 document builders and mapping helpers for xml_adapters tests."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]
REPO = TESTS.parent
XML_DATA = TESTS / "data" / "xml"
GOLDEN = TESTS / "golden"
CAMT052_DATA = XML_DATA / "camt052"
CAMT053_DATA = XML_DATA / "camt053"
CAMT054_DATA = XML_DATA / "camt054"
UBL_DATA = XML_DATA / "ubl"
BESPOKE_FEEDS = REPO / "examples" / "feeds" / "bespoke"
EXAMPLE_MAPPINGS = REPO / "examples" / "mappings"
HOSTILE_DATA = XML_DATA / "hostile"
MALFORMED_DATA = XML_DATA / "malformed"
OTHER_DATA = XML_DATA / "other"
CAMT054_GOLDEN = TESTS / "golden" / "camt054"

CAMT054_NS = {v: f"urn:iso:std:iso:20022:tech:xsd:camt.054.001.{v}" for v in ("02", "04", "08")}
NS08 = CAMT054_NS["08"]


def clark(local: str, ns: str = NS08) -> str:
    return f"{{{ns}}}{local}"


def entry(
    ref: str,
    amount: str = "10.00",
    indicator: str = "DBIT",
    status: str = "BOOK",
    extra: str = "",
) -> str:
    """One camt.054.001.08 `Ntry` on a single line."""
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Sts><Cd>{status}</Cd></Sts><BookgDt><Dt>2024-01-31</Dt></BookgDt>"
        f"<AcctSvcrRef>{ref}</AcctSvcrRef>{extra}</Ntry>"
    )


def notification(entries: Iterable[str], *, ntfctn_id: str = "N1", iban: str | None = None) -> str:
    account = f"<Acct><Id><IBAN>{iban}</IBAN></Id></Acct>" if iban else ""
    return f"<Ntfctn><Id>{ntfctn_id}</Id>{account}\n" + "\n".join(entries) + "\n</Ntfctn>"


def document(notifications: Iterable[str], *, ns: str = NS08) -> bytes:
    """A camt.054 document (one element per line from the notifications down)."""
    body = "\n".join(notifications)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{ns}"><BkToCstmrDbtCdtNtfctn>\n'
        "<GrpHdr><MsgId>HERALD-TEST</MsgId><CreDtTm>2024-01-31T10:00:00Z</CreDtTm></GrpHdr>\n"
        f"{body}\n</BkToCstmrDbtCdtNtfctn></Document>\n"
    ).encode()


def write_big_camt054(path: Path, *, notifications: int, entries_each: int) -> int:
    """Write a large camt.054 file entry by entry; returns the number of entries written."""
    with path.open("w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS08}">\n')
        out.write("<BkToCstmrDbtCdtNtfctn>\n<GrpHdr><MsgId>BIG</MsgId></GrpHdr>\n")
        for n in range(notifications):
            out.write(f"<Ntfctn><Id>N{n}</Id>")
            out.write(f"<Acct><Id><IBAN>NL91ABNA04171643{n:02d}</IBAN></Id></Acct>\n")
            for i in range(entries_each):
                out.write(entry(f"R{n}-{i}", amount=f"{i}.01") + "\n")
            out.write("</Ntfctn>\n")
        out.write("</BkToCstmrDbtCdtNtfctn>\n</Document>\n")
    return notifications * entries_each


def write_mapping(directory: Path, text: str, name: str = "feed.toml") -> Path:
    """Write a mapping file (dedented) into `directory` and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path
