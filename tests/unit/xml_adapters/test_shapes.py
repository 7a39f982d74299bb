"""Shape-specialised record code (xml_adapters/shapes.py) gives exactly what the general code
gives: values, quarantine reasons and lines, file errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.unit.xml_adapters.support import (
    REPO,
    TESTS,
    document,
    entry,
    notification,
)
from xml_adapters import shapes
from xml_adapters.base import AccountEvent, IngestError, RecordProblem
from xml_adapters.mapping import MappingAdapter
from xml_adapters.registry import BUILTIN_MAPPINGS, MAPPINGS_DIR, read_file

# Every XML file the tests and examples hold: reference samples, the corpus, hostile and
# malformed input, feeds.
SAMPLES = sorted({*TESTS.rglob("*.xml"), *(REPO / "examples").rglob("*.xml")})


def fresh_adapters() -> dict[str, MappingAdapter]:
    """Built-in adapters compiled anew, so that no shape learnt by another test is known."""
    adapters = [MappingAdapter.from_file(MAPPINGS_DIR / name) for name in BUILTIN_MAPPINGS]
    return {a.key: a for a in adapters}


class Counted:
    """Counts the records that took a shape's code."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hits = 0
        match = shapes.ShapeCache.match

        def counted(cache: shapes.ShapeCache, element: Any, run: shapes.ShapeRun) -> Any:
            found = match(cache, element, run)
            self.hits += found is not None
            return found

        monkeypatch.setattr(shapes.ShapeCache, "match", counted)


def read_all(
    source: Path | bytes, tmp_path: Path, adapters: dict[str, MappingAdapter] | None = None
) -> list[Any]:
    if isinstance(source, bytes):
        path = tmp_path / "doc.xml"
        path.write_bytes(source)
        source = path
    out: list[Any] = []
    try:
        _adapter, records = read_file(source, adapters=adapters or fresh_adapters())
        out.extend(records)
    except IngestError as exc:
        out.append(f"{type(exc).__name__}: {exc}")
    return out


def both_ways(
    source: Path | bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    adapters: tuple[dict[str, MappingAdapter], dict[str, MappingAdapter]] | None = None,
) -> tuple[list[Any], list[Any], int]:
    """(general code's records, shape code's records, records that took a shape's code)."""
    general_adapters, shaped_adapters = adapters or (fresh_adapters(), fresh_adapters())
    with monkeypatch.context() as m:
        m.setattr(shapes.ShapeCache, "match", lambda *_args: None)
        general = read_all(source, tmp_path, general_adapters)
    with monkeypatch.context() as m:
        m.setattr(shapes, "LEARN_AFTER", 1)
        counted = Counted(m)
        shaped = read_all(source, tmp_path, shaped_adapters)
    return general, shaped, counted.hits


def test_every_sample_reads_the_same_through_its_shapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(SAMPLES) > 80
    hits = 0
    adapters = fresh_adapters(), fresh_adapters()  # shapes learnt carry over to later files
    for sample in SAMPLES:
        general, shaped, n = both_ways(sample, tmp_path, monkeypatch, adapters)
        assert shaped == general, sample.name
        hits += n
    assert hits > 100  # the shapes' code did read most records


def test_a_shape_is_learnt_after_some_records_and_then_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [entry(f"R{i}", amount=f"{i}.50") for i in range(1, 21)]
    counted = Counted(monkeypatch)
    records = read_all(document([notification(entries, iban="NL91ABNA0417164300")]), tmp_path)
    assert [r.amount for r in records] == [Decimal(f"{i}.50") for i in range(1, 21)]
    assert counted.hits == 20 - shapes.LEARN_AFTER + 1


def test_records_off_the_shape_take_the_general_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the shape is learnt: an amount without its currency attribute (read from the
    account instead), a bad amount (quarantined, same reason and line), an extra element."""
    learnt = [entry(f"R{i}") for i in range(10)]
    odd = [
        entry("NOCCY").replace(' Ccy="EUR"', ""),
        entry("BAD", amount="12,50"),
        entry("EXTRA", extra="<AddtlNtryInf>more</AddtlNtryInf>"),
        entry("R-LAST"),
    ]
    xml = document([notification([*learnt, *odd], iban="NL91ABNA0417164300")]).replace(
        b"<Acct><Id>", b"<Acct><Ccy>CHF</Ccy><Id>"
    )
    general, shaped, hits = both_ways(xml, tmp_path, monkeypatch)
    assert shaped == general
    # Learnt at once here (LEARN_AFTER = 1): the bad amount has the learnt shape (its fault
    # comes from the shape's code), the extra element makes a shape of its own; only the
    # entry without the attribute the shape relies on takes the general code.
    assert hits == len(learnt) + 3
    by_ref = {r.record_id: r for r in shaped}
    assert isinstance(by_ref["NOCCY"], AccountEvent) and by_ref["NOCCY"].currency == "CHF"
    bad = by_ref["BAD"]
    assert isinstance(bad, RecordProblem) and bad.field == "Amt" and bad.line == 16


def test_a_file_whose_records_never_repeat_a_shape_stops_computing_shapes() -> None:
    run = shapes.ShapeRun()
    run.misses = 63
    assert run.worth_it
    run.misses = 200
    assert not run.worth_it
    run.hits = 200
    assert run.worth_it


def test_shapes_per_record_kind_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many distinct shapes: at most MAX_SHAPES are counted or compiled; values unchanged."""
    monkeypatch.setattr(shapes, "MAX_SHAPES", 3)
    entries = [entry(f"R{i}", extra="<AddtlNtryInf>x</AddtlNtryInf>" * (i % 6)) for i in range(60)]
    xml = document([notification(entries, iban="NL91ABNA0417164300")])
    general, shaped, _hits = both_ways(xml, tmp_path, monkeypatch)
    assert shaped == general and len(shaped) == 60
    adapters = fresh_adapters()
    path = tmp_path / "many.xml"
    path.write_bytes(xml)
    _adapter, records = read_file(path, adapters=adapters)
    list(records)
    cache = next(iter(adapters["camt054"].plan().records.values())).shapes
    assert cache is not None
    assert len(cache._shaped) <= 3 and len(cache._seen) <= 3


def test_a_record_of_many_elements_takes_the_general_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shapes, "MAX_SHAPE_ELEMENTS", 20)
    small = [entry(f"R{i}") for i in range(10)]
    big = [entry(f"B{i}", extra="<AddtlNtryInf>x</AddtlNtryInf>" * 20) for i in range(10)]
    xml = document([notification([*small, *big], iban="NL91ABNA0417164300")])
    general, shaped, hits = both_ways(xml, tmp_path, monkeypatch)
    assert shaped == general and len(shaped) == 20
    assert hits == len(small)
