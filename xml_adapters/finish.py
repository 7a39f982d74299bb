"""Generated per record kind: the `data` of an event, read from a record's values in one go.

A record kind has dozens of data fields and most records fill only some of them. A loop over
the names (a comprehension zipping names and values, a call to format each one) costs more
than the fields themselves; this module generates one straight-line function per record kind
instead: for each data field, in declaration order, one lookup and, for a value that is there,
its text. Field names are handed to the code as constants, never pasted into it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from xml_adapters.convert import Value, format_value

DataOf = Callable[[Mapping[str, Value | None]], dict[str, str]]


def compile_data(names: tuple[str, ...]) -> DataOf:
    """`data(values)`: {name: text} for each of `names` whose value is not None, in order
    (a typed value as `format_value` writes it)."""
    constants: dict[str, Any] = {"FORMAT": format_value}
    lines = ["def data(values):", "    out = {}", "    get = values.get"]
    for i, name in enumerate(names):
        constants[f"N{i}"] = name
        lines += [
            f"    v = get(N{i})",
            "    if v is not None:",
            f"        out[N{i}] = v if v.__class__ is str else FORMAT(v)",
        ]
    lines.append("    return out")
    exec(compile("\n".join(lines), "<mapping data>", "exec"), constants)
    data: DataOf = constants["data"]
    return data
