"""Compiled paths and templates: the fast path walk gives exactly lxml XPath's answers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from xml_adapters.paths import (
    PathError,
    PathSet,
    compile_path,
    compile_template,
    evaluate_xpath,
    string_value,
    text_of,
)

NS = {"a": "urn:a", "b": "urn:b"}


def test_simple_child_paths_take_the_fast_path() -> None:
    for source in ("a:X", "a:X/a:Y[1]/@code", "@id", ".", "Plain/Child", "a:X/@b:attr"):
        assert compile_path(source, NS).is_fast, source
    for source in ("a:X[2]", "a:X[@k='v']", "../a:X", "a:X//a:Y", "count(a:X)", "a:X/text()"):
        assert not compile_path(source, NS).is_fast, source


def test_labels_drop_prefixes() -> None:
    assert compile_path("a:Amt/@Ccy", NS).label == "Amt/@Ccy"
    assert compile_path("count(a:X/b:Y)", NS).label == "count(X/Y)"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("", "the path is empty"),
        ("z:X", "unknown namespace prefix 'z'"),
        ("a:X[", "not a valid XPath 1.0 expression"),
    ],
)
def test_bad_paths(source: str, reason: str) -> None:
    with pytest.raises(PathError, match=reason):
        compile_path(source, NS)


def test_the_walk_shares_prefixes_and_dedupes_paths() -> None:
    paths = PathSet()
    first = compile_path("a:X/a:Y", NS)
    assert paths.add(first) == paths.add(compile_path("a:X/a:Y", NS)) == 0
    assert paths.add(compile_path("a:X/a:Y", NS), every=True) == 1
    root = etree.fromstring('<r xmlns="urn:a"><X><Y>1</Y><Y>2</Y></X><X><Y>3</Y></X></r>')
    found = paths.walk(root)
    assert text_of(first, found[0]) == "1"
    assert [e.text for e in found[1]] == ["1", "2", "3"]


TAGS = ["X", "Y", "Z"]


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> str:
    children = draw(st.lists(st.sampled_from(TAGS), max_size=3 if depth < 3 else 0))
    parts = []
    for tag in children:
        attr = draw(st.sampled_from(["", ' k="1"', ' k=""']))
        text = draw(st.sampled_from(["", "t", " ", "u v"]))
        parts.append(f"<{tag}{attr}>{text}{draw(trees(depth + 1))}</{tag}>")
    return "".join(parts)


@st.composite
def paths(draw: st.DrawFn) -> str:
    steps = draw(st.lists(st.sampled_from(TAGS), min_size=1, max_size=4))
    written = [f"a:{s}{draw(st.sampled_from(['', '[1]']))}" for s in steps]
    if draw(st.booleans()):
        written.append("@k")
    return "/".join(written)


@settings(max_examples=300, deadline=None, database=None)
@given(tree=trees(), sources=st.lists(paths(), min_size=1, max_size=6))
def test_the_fast_walk_agrees_with_lxml_xpath(tree: str, sources: list[str]) -> None:
    root = etree.fromstring(f'<R xmlns="urn:a">{tree}</R>')
    compiled = [compile_path(s, NS) for s in sources]
    path_set = PathSet()
    first_slots = [path_set.add(c) for c in compiled]
    every_slots = [path_set.add(c, every=True) for c in compiled]
    found = path_set.walk(root)
    for source, path, first, every in zip(sources, compiled, first_slots, every_slots, strict=True):
        reference = etree.XPath(source, namespaces=NS)(root)
        assert isinstance(reference, list)
        expected = [
            str(n) if isinstance(n, str) else string_value(n)  # type: ignore[arg-type]
            for n in reference
        ]
        hit = found[first]
        assert (text_of(path, hit) if hit is not None else None) == (
            expected[0] if expected else None
        ), source
        assert [text_of(path, e) for e in found[every] or []] == expected, source


def test_general_xpath_results() -> None:
    root = etree.fromstring('<R xmlns="urn:a"><X k="1">a</X><X k="2">b</X></R>')
    assert evaluate_xpath(compile_path("a:X[2]", NS), root) == [("b", 1)]
    assert evaluate_xpath(compile_path("a:X[@k]/@k", NS), root) == [("1", 1), ("2", 1)]
    assert evaluate_xpath(compile_path("count(a:X)", NS), root) == [("2", None)]
    assert evaluate_xpath(compile_path("sum(a:X/@k) div 4", NS), root) == [("0.75", None)]
    assert evaluate_xpath(compile_path("boolean(a:X)", NS), root) == [("true", None)]
    assert evaluate_xpath(compile_path("number(a:Missing)", NS), root) == []
    assert evaluate_xpath(compile_path("concat(a:X[1], '-', a:X[2])", NS), root) == [("a-b", None)]


def test_templates() -> None:
    template = compile_template("{a|b}:{c} {{literal}}")
    assert template.names == {"a", "b", "c"}
    assert template.render({"b": "B", "c": "C"}) == "B:C {literal}"
    assert template.render({"a": "", "b": "B"}) is None
    assert compile_template("{$position}").render({"$position": "3"}) == "3"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{a", "unclosed '{' at position 1"),
        ("a}", "unmatched '}' at position 2"),
        ("{a b}", "is not a list of field names"),
        ("{}", "is not a list of field names"),
    ],
)
def test_bad_templates(source: str, reason: str) -> None:
    with pytest.raises(PathError, match=reason):
        compile_template(source)
