"""Record shapes: code specialised to the elements the records of a file actually carry.

Most records of a file have the same elements in the same places. A record's shape is the
sequence, in document order, of its elements' tags and child counts, which fixes its tree. The
first records of a shape go through the general code (the path walk, then the field code that
tests every path it reads); once a shape has been seen `LEARN_AFTER` times, its walk is
resolved once, from the shape, into a list builder (slot -> the element at a position), and the
record kind's field code is compiled again knowing which slots that shape fills and which of
those elements are leaves: no walk, no test of an absent path, no `len()` before a text read.
A record of another shape, or whose attributes differ where a path reads one, takes the general
code. Both give the same values: the specialised code is the general code with the answers to
its tests filled in.

Bounded: at most `MAX_SHAPES` shapes per record kind are counted or compiled, records of more
than `MAX_SHAPE_ELEMENTS` elements take the general code, and a file whose records rarely
repeat a shape stops computing shapes (see `ShapeRun`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from xml_adapters.codecache import compiled
from xml_adapters.codegen import FieldCode, Known, compile_shaped_run
from xml_adapters.finish import DataOf, compile_data

if TYPE_CHECKING:
    from lxml import etree

    from xml_adapters.evaluate import Run
    from xml_adapters.paths import PathSet
    from xml_adapters.walk import PathNode

LEARN_AFTER = 8  # records of one shape through the general code before it is specialised
MAX_SHAPES = 32  # shapes counted or compiled per record kind (the rest: general code)
# A record of more elements takes the general code: its shape would be a long key, and its
# element list would hold a proxy for each of them at once (the walk holds only what it maps).
MAX_SHAPE_ELEMENTS = 1000
_RECENT = 4  # learnt shapes compared before the dictionary is asked
_TAG = attrgetter("tag")
Key = tuple[tuple[Any, ...], tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Shaped:
    """The specialised code of one shape: its walk's result and its field code."""

    build: Callable[[list[Any]], list[Any]]  # elements in document order -> the walk's found
    checks: tuple[tuple[int, str, bool], ...]  # (element, attribute, present) the walk relied on
    part: int | None  # the position of the record's only part, if it has one
    parts: int  # how many parts (0 or 1)
    run: Run
    data_of: DataOf  # the event's `data`, without the fields the shape leaves None
    builtins: dict[str, str | None]  # what `xml_adapters.mapping` sets for such a record


class ShapeCache:
    """The shapes of one record kind seen so far and, once learnt, their specialised code."""

    def __init__(
        self,
        paths: PathSet,
        fields: Sequence[FieldCode],
        title: str,
        part_slots: tuple[int, ...],
        data_fields: tuple[str, ...] = (),
    ) -> None:
        self._paths, self._fields, self._title = paths, tuple(fields), title
        self._part_slots, self._data_fields = part_slots, data_fields
        self._seen: dict[Key, int] = {}
        self._shaped: dict[Key, Shaped | None] = {}  # None: a shape not specialised (batches)
        # The learnt shapes used last, most recent first: comparing a key with them costs less
        # than hashing it (its tags are new strings each time).
        self._recent: list[tuple[Key, Shaped]] = []

    def match(self, element: etree._Element, run: ShapeRun) -> tuple[Shaped, list[Any]] | None:
        """The specialised code for the element's shape and its elements, else None (general
        code)."""
        elements = list(islice(element.iter(), MAX_SHAPE_ELEMENTS + 1))
        if len(elements) > MAX_SHAPE_ELEMENTS:
            return None
        key: Key = (tuple(map(_TAG, elements)), tuple(map(len, elements)))
        recent = self._recent
        shaped: Shaped | None = _UNKNOWN
        for index, entry in enumerate(recent):
            if entry[0] == key:
                shaped = entry[1]
                if index:
                    recent.insert(0, recent.pop(index))
                break
        else:
            shaped = self._shaped.get(key, _UNKNOWN)
            if shaped is not None and shaped is not _UNKNOWN:
                recent.insert(0, (key, shaped))
                del recent[_RECENT:]
        if shaped is _UNKNOWN:
            run.misses += 1
            seen = self._seen.get(key, 0) + 1
            if seen < LEARN_AFTER:
                if seen > 1 or len(self._seen) < MAX_SHAPES:
                    self._seen[key] = seen
                return None
            if len(self._shaped) >= MAX_SHAPES:
                return None
            shaped = self._shaped[key] = self._learn(key, elements)
            self._seen.pop(key, None)
            if shaped is not None:
                self._recent.insert(0, (key, shaped))
                del self._recent[_RECENT:]
        if shaped is None:
            return None
        for position, attribute, present in shaped.checks:
            if (elements[position].get(attribute) is not None) is not present:
                return None
        run.hits += 1
        return shaped, elements

    def _learn(self, key: Key, elements: list[Any]) -> Shaped | None:
        tags, counts = key
        root, part_root, every, size = self._paths.trie()
        resolver = _Resolver(tags, counts, elements, every, size)
        resolver.visit(root, 0)
        parts = [i for slot in self._part_slots for i in resolver.found[slot] or ()]
        if len(parts) > 1:
            return None  # a batch: one event per part, through the general code
        part = parts[0] if parts else None
        if part is not None:
            resolver.visit(part_root, part)
        found = resolver.found
        # A copy of a list of Nones, then the slots the shape fills: cheaper than a display
        # of every slot when most are empty. Only integers and `e` appear in this source.
        lines = ["def build(e):", "    found = EMPTY.copy()"]
        for slot, hit in enumerate(found):
            if isinstance(hit, list):
                lines.append(f"    found[{slot}] = [{', '.join(f'e[{i}]' for i in hit)}]")
            elif hit is not None:
                lines.append(f"    found[{slot}] = e[{hit}]")
        lines.append("    return found")
        namespace: dict[str, Any] = {"EMPTY": [None] * len(found)}
        exec(compiled("\n".join(lines), "<shape build>"), namespace)
        build = namespace["build"]
        known = Known(
            present=frozenset(s for s, hit in enumerate(found) if hit is not None),
            leaves=frozenset(
                s for s, hit in enumerate(found) if isinstance(hit, int) and counts[hit] == 0
            ),
            # What `xml_adapters.mapping` sets for a record of at most one part.
            constants=(("$role", "single"), ("$parts", str(len(parts))), ("$part", None))
            if self._part_slots
            else (),
        )
        run, never = compile_shaped_run(self._paths, self._fields, self._title, known)
        data_of = compile_data(tuple(n for n in self._data_fields if n not in never))
        builtins = dict(known.constants)
        return Shaped(build, tuple(resolver.checks), part, len(parts), run, data_of, builtins)


_UNKNOWN: Any = object()


class ShapeRun:
    """One file's use of shapes: after `_TRIAL` records, shapes are computed only while at least
    half of the records match a learnt one."""

    __slots__ = ("hits", "misses")
    _TRIAL = 64

    def __init__(self) -> None:
        self.hits = self.misses = 0

    @property
    def worth_it(self) -> bool:
        return self.misses < self._TRIAL or self.hits >= self.misses


class _Resolver:
    """The path walk (`xml_adapters.walk`) done once on a shape: slot -> element position."""

    def __init__(
        self,
        tags: tuple[Any, ...],
        counts: tuple[int, ...],
        elements: list[Any],
        every: set[int],
        size: int,
    ) -> None:
        self.tags, self.elements, self.every = tags, elements, every
        self.found: list[Any] = [None] * size
        self.checks: list[tuple[int, str, bool]] = []
        self.children: list[list[int]] = [[] for _ in counts]
        stack: list[list[int]] = []  # [position, children still to come]
        for i, count in enumerate(counts):
            if stack:
                top = stack[-1]
                self.children[top[0]].append(i)
                top[1] -= 1
            if count:
                stack.append([i, count])
            else:
                while stack and stack[-1][1] == 0:
                    stack.pop()

    def _note(self, slot: int, position: int) -> None:
        if slot in self.every:
            if self.found[slot] is None:
                self.found[slot] = [position]
            else:
                self.found[slot].append(position)
        elif self.found[slot] is None:
            self.found[slot] = position

    def visit(self, node: PathNode, position: int) -> None:
        for slot in node.ends:
            self._note(slot, position)
        for attribute, slot in node.attributes:
            if slot in self.every or self.found[slot] is None:
                present = self.elements[position].get(attribute) is not None
                self.checks.append((position, attribute, present))
                if present:
                    self._note(slot, position)
        if not (node.every or node.first):
            return
        taken: set[Any] = set()
        for child in self.children[position]:
            tag = self.tags[child]
            step = node.every.get(tag)
            if step is not None:
                self.visit(step, child)
            step = node.first.get(tag)
            if step is not None and tag not in taken:
                taken.add(tag)
                self.visit(step, child)
