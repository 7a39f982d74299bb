"""Compiled paths and templates of a mapping: fast child-step lookups, lxml XPath for the rest."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from lxml import etree

from xml_adapters.codecache import compiled
from xml_adapters.convert import Value, format_value
from xml_adapters.walk import PartWalk, PathNode, Walk, generate

_NAME = r"[A-Za-z_][\w.\-]*"
_STEP = re.compile(rf"(?:(?P<prefix>{_NAME}):)?(?P<local>{_NAME})(?P<first>\[1\])?")
_ATTRIBUTE = re.compile(rf"@(?:(?P<prefix>{_NAME}):)?(?P<local>{_NAME})")


PART = "$part"  # a path starting `$part/` is read from the record's current part


class PathError(ValueError):
    """A path or template that cannot be compiled; the message says why."""


@dataclass(frozen=True, slots=True)
class CompiledPath:
    """One XPath of a mapping, bound to concrete namespace URIs.

    Paths made only of child steps (`c:BkTxCd/c:Domn/c:Cd`, optionally `[1]` per step and a
    final `@attribute`) are resolved together in one walk of the record (see `PathSet`), which
    is several times faster than an XPath call per path; anything else is evaluated by a precompiled
    `etree.XPath`. Both give XPath's answer: the first matching node in document order, its
    string value as text.
    """

    source: str  # as written in the mapping
    label: str  # as written, without namespace prefixes: shown in RecordProblems
    steps: tuple[tuple[str, bool], ...]  # (Clark tag, only the first such child) per step
    attribute: str | None  # Clark name of a final @attribute step
    xpath: etree.XPath | None  # the general case
    part: bool = False  # `$part/...`: relative to the record's current part (see PathSet)

    @property
    def is_fast(self) -> bool:
        return self.xpath is None


def compile_path(source: str, namespaces: Mapping[str, str]) -> CompiledPath:
    """Compile `source` with the given prefix -> URI bindings; PathError says what is wrong."""
    text = source.strip()
    if not text:
        raise PathError("the path is empty")
    if text == PART or text.startswith(PART + "/"):
        inner = text[len(PART) + 1 :] or "."
        fast = _fast_steps(inner, namespaces)
        if fast is None:
            raise PathError(
                f"a {PART}/ path must be plain child steps (a/b/@c, optional [1] per step)"
            )
        label = re.sub(rf"(?<![\w.\-]){_NAME}:(?=[A-Za-z_*])", "", inner)
        return CompiledPath(text, label, fast[0], fast[1], None, part=True)
    label = re.sub(rf"(?<![\w.\-]){_NAME}:(?=[A-Za-z_*])", "", text)
    fast = _fast_steps(text, namespaces)
    if fast is not None:
        steps, attribute = fast
        return CompiledPath(text, label, steps, attribute, None)
    try:
        xpath = etree.XPath(text, namespaces=dict(namespaces), smart_strings=True)
    except etree.XPathSyntaxError as exc:
        raise PathError(f"not a valid XPath 1.0 expression ({exc})") from None
    return CompiledPath(text, label, (), None, xpath)


def _fast_steps(
    text: str, namespaces: Mapping[str, str]
) -> tuple[tuple[tuple[str, bool], ...], str | None] | None:
    if text == ".":
        return (), None
    parts = text.split("/")
    attribute = None
    last = _ATTRIBUTE.fullmatch(parts[-1])
    if last is not None:
        attribute = _clark(last["prefix"], last["local"], namespaces)
        parts = parts[:-1]
    steps = []
    for part in parts:
        match = _STEP.fullmatch(part)
        if match is None:
            return None
        steps.append((_clark(match["prefix"], match["local"], namespaces), bool(match["first"])))
    return tuple(steps), attribute


def _clark(prefix: str | None, local: str, namespaces: Mapping[str, str]) -> str:
    if prefix is None:
        return local  # as in XPath 1.0: an unprefixed name is in no namespace
    try:
        uri = namespaces[prefix]
    except KeyError:
        raise PathError(
            f"unknown namespace prefix {prefix!r} (declare it under [namespaces])"
        ) from None
    return f"{{{uri}}}{local}" if uri else local


def string_value(element: etree._Element) -> str:
    """XPath's string value of an element: all of its descendant text."""
    if len(element):
        return "".join(cast("Iterator[str]", element.itertext()))
    return element.text or ""


class PathSet:
    """The fast paths of one record kind (or context), resolved together in one walk.

    `walk(element)` visits the element's descendants in document order, but only those some
    path leads through, and notes for each path the first element it reaches (for `every`
    paths: all of them). That is XPath's answer for every path at once, for a fraction of the
    cost of one XPath call per path. The walk is generated code (see `xml_adapters.walk`).
    Paths marked `part` (`$part/...`) are walked from the part element handed to `walk`, into
    the same result list.
    """

    def __init__(self) -> None:
        self._root = PathNode()
        self._part_root = PathNode()
        self._slots: dict[tuple[str, bool], int] = {}
        self._every_slots: set[int] = set()
        self._walk: Walk | None = None
        self._walk_part: PartWalk | None = None

    def add(self, path: CompiledPath, *, every: bool = False) -> int:
        """Register a fast path; returns its slot in the walk's result."""
        assert path.xpath is None and self._walk is None, "add paths before the first walk"
        known = self._slots.get((path.source, every))
        if known is not None:
            return known
        slot = len(self._slots)
        self._slots[(path.source, every)] = slot
        if every:
            self._every_slots.add(slot)
        node = self._part_root if path.part else self._root
        for tag, only_first in path.steps:
            children = node.first if only_first else node.every
            node = children.setdefault(tag, PathNode())
        if path.attribute is None:
            node.ends.append(slot)
        else:
            node.attributes.append((path.attribute, slot))
        return slot

    def walk(self, element: etree._Element, part: etree._Element | None = None) -> list[Any]:
        """By slot: the first element reached, or None (a list of all of them for `every`);
        `part` paths are read from `part` (they find nothing without one)."""
        walk = self._walk or self._generate()[0]
        return walk(element, part)

    def walk_part(self, part: etree._Element, found: list[Any]) -> None:
        """Add what the `part` paths reach from `part` to `found`, a walk's result without one
        (it must not hold a part's elements yet)."""
        walk_part = self._walk_part or self._generate()[1]
        walk_part(part, found)

    def trie(self) -> tuple[PathNode, PathNode, set[int], int]:
        """The record's trie, the part's, the `every` slots and the number of slots."""
        return self._root, self._part_root, self._every_slots, len(self._slots)

    def _generate(self) -> tuple[Walk, PartWalk]:
        self._walk, self._walk_part = generate(
            self._root, self._every_slots, len(self._slots), self._part_root
        )
        return self._walk, self._walk_part


def text_of(path: CompiledPath, element: etree._Element) -> str:
    """The text a fast path gives for the element the walk found for it."""
    if path.attribute is not None:
        return element.get(path.attribute) or ""
    return string_value(element)


def evaluate_xpath(path: CompiledPath, element: etree._Element) -> list[tuple[str, int | None]]:
    """Text and line of every node a general XPath gives (one item for a scalar result)."""
    assert path.xpath is not None
    result = path.xpath(element)
    if isinstance(result, list):
        return [_node_text(node) for node in result]
    text, line = _first_of(result)
    return [] if text is None else [(text, line)]


def line_of(element: etree._Element) -> int | None:
    line: Any = element.sourceline
    return line if isinstance(line, int) else None


def _first_of(result: Any) -> tuple[str | None, int | None]:
    if isinstance(result, list):
        return _node_text(result[0]) if result else (None, None)
    if isinstance(result, bool):
        return ("true" if result else "false"), None
    if isinstance(result, float):
        if result != result:  # NaN: e.g. number() of a missing node
            return None, None
        return (str(int(result)) if result.is_integer() else repr(result)), None
    return str(result), None


def _node_text(node: Any) -> tuple[str, int | None]:
    if isinstance(node, etree._Element):
        return string_value(node), line_of(node)
    parent = node.getparent() if hasattr(node, "getparent") else None
    return str(node), (line_of(parent) if isinstance(parent, etree._Element) else None)


@dataclass(frozen=True, slots=True)
class Template:
    """`{a|b}:{c}` — each `{...}` is the first non-empty of the named values; `{{` is `{`.

    A template renders to None when any of its `{...}` groups has no value, so an id template
    never yields a half-built id.
    """

    source: str
    parts: tuple[str | tuple[str, ...], ...]
    render: Callable[[Mapping[str, Value | None]], str | None]  # generated: see _render_code

    @property
    def names(self) -> frozenset[str]:
        return frozenset(n for p in self.parts if isinstance(p, tuple) for n in p)


def _render_code(parts: tuple[str | tuple[str, ...], ...]) -> Callable[..., str | None]:
    """`render(values)` for the parts, as generated code (names and text passed as constants)."""
    constants: dict[str, Any] = {"format_value": format_value}
    code = ["def render(values):"]
    pieces = []
    for i, part in enumerate(parts):
        if isinstance(part, str):
            constants[f"TEXT{i}"] = part
            pieces.append(f"TEXT{i}")
            continue
        for j, name in enumerate(part):
            constants[f"NAME{i}_{j}"] = name
            if j:
                code.append(f'    if v{i} is None or v{i} == "": v{i} = values.get(NAME{i}_{j})')
            else:
                code.append(f"    v{i} = values.get(NAME{i}_{j})")
        code.append(f'    if v{i} is None or v{i} == "": return None')
        code.append(f"    if v{i}.__class__ is not str: v{i} = format_value(v{i})")
        pieces.append(f"v{i}")
    code.append(f'    return "".join(({", ".join(pieces)},))' if pieces else '    return ""')
    exec(compiled("\n".join(code), "<mapping template>"), constants)
    render: Callable[..., str | None] = constants["render"]
    return render


_GROUP_NAME = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*")


def compile_template(source: str) -> Template:
    """Parse a template; PathError for unbalanced braces or bad names."""
    parts: list[str | tuple[str, ...]] = []
    literal: list[str] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char in "{}" and source[i : i + 2] in ("{{", "}}"):
            literal.append(char)
            i += 2
            continue
        if char == "}":
            raise PathError(f"unmatched '}}' at position {i + 1} (write '}}}}' for a literal)")
        if char != "{":
            literal.append(char)
            i += 1
            continue
        end = source.find("}", i)
        if end < 0:
            raise PathError(f"unclosed '{{' at position {i + 1}")
        names = tuple(n.strip() for n in source[i + 1 : end].split("|"))
        bad = [n for n in names if not _GROUP_NAME.fullmatch(n)]
        if bad:
            raise PathError(
                f"{{{source[i + 1 : end]}}} is not a list of field names separated by '|'"
            )
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(names)
        i = end + 1
    if literal:
        parts.append("".join(literal))
    frozen = tuple(parts)
    return Template(source, frozen, _render_code(frozen))
