"""The path walk of a PathSet, generated as Python code once per mapping and namespace.

A record kind's fast paths form a trie (`PathNode`, built by `paths.PathSet`). Walking it
generically costs a few dozen bytecodes per element for bookkeeping the trie mostly does not
need (empty lists of attributes, lookups of the next step); this module turns the trie into one
small function per inner node, with the child tags as constants and leaves handled inline, which
makes the walk several times faster. Only identifiers and integers generated here appear in the
source; tag and attribute names from the mapping are passed in as constants, never pasted into
code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from xml_adapters.codecache import compiled

if TYPE_CHECKING:
    from lxml import etree

Walk = Callable[["etree._Element", "etree._Element | None"], list[Any]]
PartWalk = Callable[["etree._Element", list[Any]], None]


class PathNode:
    """A step of the path trie: the paths ending here and the steps below."""

    __slots__ = ("attributes", "ends", "every", "first")

    def __init__(self) -> None:
        self.ends: list[int] = []  # slots of paths whose last step is this element
        self.attributes: list[tuple[str, int]] = []  # (attribute, slot) of `.../@attribute`
        self.every: dict[str, PathNode] = {}  # child steps matching every such child
        self.first: dict[str, PathNode] = {}  # child steps with [1]: the first such child only


# Inner steps up to this deep below a function's element are visited inline, deeper ones
# through a function of their own: each inlined level nests a `for` loop, and Python allows 20
# nested loops (and other blocks) in a function.
_INLINE_DEPTH = 6


class _Generator:
    def __init__(self, every_slots: set[int]) -> None:
        self.every_slots = every_slots
        self.constants: dict[str, Any] = {}
        self.functions: list[list[str]] = []

    def constant(self, value: Any) -> str:
        name = f"K{len(self.constants)}"
        self.constants[name] = value
        return name

    def node(self, node: PathNode) -> str:
        """Emit a function visiting `node`'s element; return its name."""
        name = f"visit{len(self.functions)}"
        body: list[str] = []
        self.functions.append(body)  # reserve the slot: children are emitted after
        body.append(f"def {name}(element, found):")
        self._notes(node, "element", body, "    ")
        if node.every or node.first:
            self._children(node, "element", body, "    ")
        if len(body) == 1:
            body.append("    pass")
        return name

    def _notes(self, node: PathNode, var: str, out: list[str], pad: str) -> None:
        every = self.every_slots
        for slot in node.ends:
            if slot in every:
                out.append(f"{pad}if found[{slot}] is None: found[{slot}] = [{var}]")
                out.append(f"{pad}else: found[{slot}].append({var})")
            else:
                out.append(f"{pad}if found[{slot}] is None: found[{slot}] = {var}")
        for attribute, slot in node.attributes:
            name = self.constant(attribute)
            if slot in every:
                out.append(f"{pad}if {var}.get({name}) is not None:")
                out.append(f"{pad}    if found[{slot}] is None: found[{slot}] = [{var}]")
                out.append(f"{pad}    else: found[{slot}].append({var})")
            else:
                out.append(
                    f"{pad}if found[{slot}] is None and {var}.get({name}) is not None: "
                    f"found[{slot}] = {var}"
                )

    def _is_leaf(self, node: PathNode) -> bool:
        return not (node.every or node.first)

    def _simple(self, node: PathNode) -> int | None:
        """The slot of a leaf step that only notes itself (one path ends there, no attribute,
        not `every`): such children are dispatched straight to their slot."""
        if self._is_leaf(node) and not node.attributes and len(node.ends) == 1:
            slot = node.ends[0]
            if slot not in self.every_slots:
                return slot
        return None

    def _children(self, node: PathNode, var: str, out: list[str], pad: str, depth: int = 0) -> None:
        """Code visiting the children of `var` (the element at `node`). The index maps a
        child's tag to its slot (>= 0) when it is a simple leaf, else to a branch (< 0)."""
        tags = list(dict.fromkeys((*node.every, *node.first)))
        index: dict[str, int] = {}
        branches: list[str] = []
        for tag in tags:
            slot = self._simple(node.every[tag]) if tag not in node.first else None
            if slot is not None:
                index[tag] = slot
            else:
                branches.append(tag)
                index[tag] = -len(branches)
        child = f"child{depth}" if depth else "child"
        for b, tag in enumerate(branches):
            if tag in node.first:
                out.append(f"{pad}free{depth}_{b} = True")
        out.append(f"{pad}for {child} in {var}:")
        out.append(f"{pad}    k = {self.constant(index)}.get({child}.tag)")
        out.append(f"{pad}    if k is None: continue")
        if not branches:
            out.append(f"{pad}    if found[k] is None: found[k] = {child}")
        elif len(branches) < len(tags):
            out.append(f"{pad}    if k >= 0:")
            out.append(f"{pad}        if found[k] is None: found[k] = {child}")
            out.append(f"{pad}        continue")
        for b, tag in enumerate(branches):
            out.append(f"{pad}    {'if' if b == 0 else 'elif'} k == {-(b + 1)}:")
            branch: list[str] = []
            every, first = node.every.get(tag), node.first.get(tag)
            if every is not None:
                self._step(every, child, branch, pad + "        ", depth)
            if first is not None:
                branch.append(f"{pad}        if free{depth}_{b}:")
                branch.append(f"{pad}            free{depth}_{b} = False")
                self._step(first, child, branch, pad + "            ", depth)
            out.extend(branch or [f"{pad}        pass"])

    def _step(self, node: PathNode, var: str, out: list[str], pad: str, depth: int) -> None:
        """Visit `var` at `node`: inline (a leaf, or an inner step near the top: Python limits
        how deeply blocks nest), else a call to the node's function."""
        before = len(out)
        if self._is_leaf(node):
            self._notes(node, var, out, pad)
        elif depth < _INLINE_DEPTH:
            self._notes(node, var, out, pad)
            self._children(node, var, out, pad, depth + 1)
        else:
            out.append(f"{pad}{self.node(node)}({var}, found)")
        if len(out) == before:
            out.append(f"{pad}pass")


def generate(
    root: PathNode, every_slots: set[int], size: int, part_root: PathNode | None = None
) -> tuple[Walk, PartWalk]:
    """Compile the walk of the trie below `root` (the record or context element itself).

    The walk returns a list indexed by slot: the first element each path reaches (None when
    none), or for `every_slots` the list of all of them. The trie below `part_root` is walked
    from the `part` element given to the walk, when there is one; the second function walks
    it alone, from a part into the result of a walk made without one.
    """
    generator = _Generator(every_slots)
    entry = generator.node(root)
    part_walk = "pass"
    if part_root is not None and (
        part_root.every or part_root.first or part_root.ends or part_root.attributes
    ):
        part_walk = f"{generator.node(part_root)}(part, found)"
    source = "\n\n".join("\n".join(body) for body in generator.functions)
    source += (
        f"\n\ndef walk(element, part=None):\n    found = [None] * {size}\n"
        f"    {entry}(element, found)\n"
        f"    if part is not None: {part_walk}\n"
        "    return found\n"
        f"\n\ndef walk_part(part, found):\n    {part_walk}\n"
    )
    namespace: dict[str, Any] = dict(generator.constants)
    exec(compiled(source, "<mapping path walk>"), namespace)
    return namespace["walk"], namespace["walk_part"]
