"""Generated code for the end of a record's mapping: its event's `data`, and the event itself.

A record kind has dozens of data fields and most records fill only some of them. A loop over
the names (a comprehension zipping names and values, a call to format each one) costs more
than the fields themselves; this module generates one straight-line function per record kind
instead: for each data field, in declaration order, one lookup and, for a value that is there,
its text. Field names are handed to the code as constants, never pasted into it.

`new_event` builds an AccountEvent without the frozen dataclass's `__init__`, which sets each
attribute through `object.__setattr__` (the price of `frozen`): it sets the slots through their
descriptors, about twice as fast, and the event is the same frozen AccountEvent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from xml_adapters.base import AccountEvent
from xml_adapters.codecache import compiled
from xml_adapters.convert import Value, format_value

DataOf = Callable[[Mapping[str, Value | None]], dict[str, str]]


def compile_data(names: tuple[str, ...]) -> DataOf:
    """`data(values)`: {name: text} for each of `names` whose value is not None, in order
    (a typed value as `format_value` writes it)."""
    # An amount's and a date's text written here as `format_value` writes it, without its call.
    constants: dict[str, Any] = {"FORMAT": format_value, "DECIMAL": Decimal, "DATE": date}
    lines = ["def data(values):", "    out = {}", "    get = values.get"]
    for i, name in enumerate(names):
        constants[f"N{i}"] = name
        lines += [
            f"    v = get(N{i})",
            "    if v is not None:",
            "        c = v.__class__",
            f"        out[N{i}] = (",
            "            v if c is str else str(v) if c is DECIMAL else v.isoformat() if c is DATE",
            "            else FORMAT(v)",
            "        )",
        ]
    lines.append("    return out")
    exec(compiled("\n".join(lines), "<mapping data>"), constants)
    data: DataOf = constants["data"]
    return data


def _event_constructor() -> Callable[..., AccountEvent]:
    names = [f.name for f in dataclasses.fields(AccountEvent)]
    constants: dict[str, Any] = {"NEW": object.__new__, "EVENT": AccountEvent}
    lines = [f"def new_event({', '.join(names)}):", "    event = NEW(EVENT)"]
    for i, name in enumerate(names):
        constants[f"SET{i}"] = getattr(AccountEvent, name).__set__  # the slot's descriptor
        lines.append(f"    SET{i}(event, {name})")
    lines.append("    return event")
    exec(compile("\n".join(lines), "<new_event>", "exec"), constants)
    constructor: Callable[..., AccountEvent] = constants["new_event"]
    return constructor


# new_event(source, source_event_id, event_type, account_id, amount, currency, credit_debit,
# status, booking_date, description, line, data, record_id): every field, in AccountEvent's order.
new_event = _event_constructor()
