"""Adapter registry: known formats by key, detection by root element, the file entry point."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from xml_adapters.base import AccountEvent, Adapter, RecordProblem, UnknownFormatError
from xml_adapters.camt054 import Camt054Adapter
from xml_adapters.iso20022 import message_type
from xml_adapters.parse import detect_root

# Explicit on purpose: a format exists when it is listed here (see the Adapter protocol).
ADAPTERS: dict[str, Adapter] = {
    "camt054": Camt054Adapter(),
}


def known_formats() -> str:
    """`key (title)` of every registered adapter, for messages."""
    described = []
    for key, adapter in ADAPTERS.items():
        versions = getattr(adapter, "versions", ())
        suffix = f", versions {', '.join(versions)}" if versions else ""
        described.append(f"{key} ({adapter.title}{suffix})")
    return "; ".join(described)


def get_adapter(key: str) -> Adapter:
    """The adapter registered under `key`; UnknownFormatError listing the known keys otherwise."""
    try:
        return ADAPTERS[key]
    except KeyError:
        raise UnknownFormatError(
            f"unknown format {key!r}. Known formats: {known_formats()}."
        ) from None


def detect_adapter(stream: BinaryIO, path: str) -> Adapter:
    """The adapter that reads this document, chosen by its root element; the stream is rewound.

    Raises XmlInputError for input that is not safe, well-formed XML and UnknownFormatError
    (naming the root found and the known formats) when no adapter accepts the root.
    """
    root_tag = detect_root(stream, path)
    for adapter in ADAPTERS.values():
        if adapter.accepts(root_tag):
            return adapter
    raise UnknownFormatError(
        f"{path}: no adapter reads a document whose root is {_describe(root_tag)}. "
        f"Known formats: {known_formats()}."
    )


def read_file(
    source: str | os.PathLike[str] | BinaryIO,
    adapter_key: str | None = None,
    *,
    path: str | None = None,
) -> tuple[Adapter, Iterator[AccountEvent | RecordProblem]]:
    """Open a back-office XML file and stream its records.

    `source` is a filesystem path or a seekable binary file object (read from its start; the
    caller keeps ownership of it). `adapter_key` forces a format, otherwise it is detected from
    the root element. `path` names the input in messages (default: the path or the stream name).

    The format is checked at once: XmlInputError / UnknownFormatError are raised by this call.
    The returned iterator parses lazily, yielding an AccountEvent or a RecordProblem per record;
    it can still raise XmlInputError when the file turns out to be malformed further on. A file
    opened from a path is closed when the iterator is exhausted or closed::

        adapter, records = read_file("inbox/notification.xml")
        for record in records:
            ...
    """
    if isinstance(source, str | os.PathLike):
        name = path or os.fspath(source)
        with open(source, "rb") as stream:
            adapter = _choose(stream, name, adapter_key)
        return adapter, _read_path(adapter, source, name)
    if not source.seekable():
        raise ValueError("read_file needs a seekable stream; spool it to a temporary file first")
    name = path or str(getattr(source, "name", "<stream>"))
    adapter = _choose(source, name, adapter_key)
    return adapter, adapter.iter_records(source, name)


def _choose(stream: BinaryIO, name: str, adapter_key: str | None) -> Adapter:
    if adapter_key is None:
        return detect_adapter(stream, name)
    adapter = get_adapter(adapter_key)
    root_tag = detect_root(stream, name)
    if not adapter.accepts(root_tag):
        raise UnknownFormatError(
            f"{name}: the {adapter_key} adapter ({adapter.title}) does not read a document "
            f"whose root is {_describe(root_tag)}. Known formats: {known_formats()}."
        )
    return adapter


def _read_path(
    adapter: Adapter, source: str | os.PathLike[str], name: str
) -> Iterator[AccountEvent | RecordProblem]:
    with open(source, "rb") as stream:
        yield from adapter.iter_records(stream, name)


def _describe(root_tag: str) -> str:
    message = message_type(root_tag)
    if message is not None:
        return f"an ISO 20022 {message.name} message (namespace {message.namespace!r})"
    if root_tag.startswith("{"):
        namespace, _, local = root_tag[1:].partition("}")
        return f"element {local!r} in namespace {namespace!r}"
    return f"element {root_tag!r} (no namespace)"
