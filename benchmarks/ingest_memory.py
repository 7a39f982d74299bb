"""Peak RSS of one ingest of hostile input: a single ~16 MiB record of many small elements.

Run by `make bench` (or `python -m benchmarks.ingest_memory --mb 16`). The parse + map runs in a
child process so the peak RSS printed is its own. Target: under 200 MB whatever the input
(lxml costs ~40x the bytes of such a record if it is built; Herald prunes and refuses it).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import summary

NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
ENTRY = (
    '<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
    "<BookgDt><Dt>2024-01-31</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>{extra}</Ntry>"
)


def generate(path: Path, megabytes: int) -> None:
    """A notification of a normal entry, one of `megabytes` MiB of tiny elements, a normal one."""
    repeats = megabytes * 1024 * 1024 // len("<TxDtls><Refs/></TxDtls>")
    crowded = "<NtryDtls>" + "<TxDtls><Refs/></TxDtls>" * repeats + "</NtryDtls>"
    entries = ENTRY.format(ref="A", extra="") + ENTRY.format(ref="B", extra=crowded)
    entries += ENTRY.format(ref="C", extra="")
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS}"><BkToCstmrDbtCdtNtfctn>'
        "<GrpHdr><MsgId>M</MsgId><CreDtTm>2024-01-31T10:00:00</CreDtTm></GrpHdr>"
        "<Ntfctn><Id>N1</Id><CreDtTm>2024-01-31T10:00:00</CreDtTm>"
        "<Acct><Id><IBAN>NL01BANK0000000001</IBAN></Id></Acct>"
        f"{entries}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>",
        encoding="utf-8",
    )


def child(path: Path) -> None:
    from xml_adapters.base import RecordProblem
    from xml_adapters.registry import get_adapter

    started = time.perf_counter()
    with path.open("rb") as stream:
        items = list(get_adapter("camt054").iter_records(stream, str(path)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "records": len(items),
                "refused": sum(isinstance(i, RecordProblem) for i in items),
                "seconds": time.perf_counter() - started,
                "peak_rss_mb": peak,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=16, help="size of the hostile record in MiB")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hostile.xml"
        generate(path, args.mb)
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.ingest_memory", "--child", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"hostile record of {args.mb} MiB (tiny elements): {result['records']} records, "
        f"{result['refused']} refused, {result['seconds']:.1f} s, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB (target < 200 MB)"
    )
    summary.record("ingest_memory", summary.memory_rows(result["peak_rss_mb"], args.mb))


if __name__ == "__main__":
    main()
