"""Adapter registry: built-in and extra mapping files, detection by root element, file reading."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from xml_adapters.base import (
    Adapter,
    MappingError,
    Record,
    UnknownFormatError,
)
from xml_adapters.mapping import MappingAdapter, describe_root
from xml_adapters.mapping_schema import MAPPING_SUFFIXES
from xml_adapters.parse import detect_root

MAPPINGS_DIR = Path(__file__).resolve().with_name("mappings")
# Explicit on purpose: a built-in format exists when its mapping file is listed here. The order
# is the order of `herald adapters list` and of detection.
BUILTIN_MAPPINGS: tuple[str, ...] = (
    "camt054.toml",
    "camt053.toml",
    "camt052.toml",
    "ubl_invoice.toml",
    "shipment_status.toml",
    "itinerary_change.toml",
)


@functools.cache
def builtin_adapters() -> tuple[MappingAdapter, ...]:
    """The built-in adapters, compiled once per process."""
    return tuple(MappingAdapter.from_file(MAPPINGS_DIR / name) for name in BUILTIN_MAPPINGS)


def load_adapters(extra_dir: Path | None = None) -> dict[str, Adapter]:
    """Every built-in adapter, then one per mapping file (*.toml, *.yaml, *.yml) in `extra_dir`.

    Raises MappingError naming the file, the key and the fault for an invalid mapping file, a
    missing directory, or an extra mapping reusing a key that is already taken.
    """
    adapters: dict[str, Adapter] = {a.key: a for a in builtin_adapters()}
    if extra_dir is None:
        return adapters
    if not extra_dir.is_dir():
        raise MappingError("the mapping directory does not exist", source=str(extra_dir))
    files = sorted(p for p in extra_dir.iterdir() if p.suffix.lower() in MAPPING_SUFFIXES)
    for path in files:
        adapter = MappingAdapter.from_file(path)
        if adapter.key in adapters:
            taken = getattr(adapters[adapter.key], "source", "a built-in adapter")
            raise MappingError(
                f"{adapter.key!r} is already the key of {taken}; choose another key",
                source=str(path),
                key="key",
            )
        adapters[adapter.key] = adapter
    return adapters


# The adapters in use. `install_adapters` replaces its contents (the composition root calls it
# once at start-up with the configured mapping directory); the object itself stays the same.
ADAPTERS: dict[str, Adapter] = load_adapters()


def install_adapters(extra_dir: Path | None) -> dict[str, Adapter]:
    """Load the built-ins plus `extra_dir`'s mapping files into ADAPTERS and return it.

    All-or-nothing: on MappingError the adapters in use are left unchanged.
    """
    loaded = load_adapters(extra_dir)
    ADAPTERS.clear()
    ADAPTERS.update(loaded)
    return ADAPTERS


def known_formats(adapters: Mapping[str, Adapter] | None = None) -> str:
    """`key (title)` of every registered adapter, for messages."""
    described = []
    for key, adapter in (ADAPTERS if adapters is None else adapters).items():
        versions = getattr(adapter, "versions", ())
        suffix = f", versions {', '.join(versions)}" if versions else ""
        described.append(f"{key} ({adapter.title}{suffix})")
    return "; ".join(described)


def get_adapter(key: str, adapters: Mapping[str, Adapter] | None = None) -> Adapter:
    """The adapter registered under `key`; UnknownFormatError listing the known keys otherwise."""
    registry = ADAPTERS if adapters is None else adapters
    try:
        return registry[key]
    except KeyError:
        raise UnknownFormatError(
            f"unknown format {key!r}. Known formats: {known_formats(registry)}."
        ) from None


def detect_adapter(
    stream: BinaryIO, path: str, adapters: Mapping[str, Adapter] | None = None
) -> Adapter:
    """The adapter that reads this document, chosen by its root element; the stream is rewound.

    Raises XmlInputError for input that is not safe, well-formed XML and UnknownFormatError
    (naming the root found and the known formats) when no adapter accepts the root.
    """
    registry = ADAPTERS if adapters is None else adapters
    root_tag = detect_root(stream, path)
    for adapter in registry.values():
        if adapter.accepts(root_tag):
            return adapter
    raise UnknownFormatError(
        f"{path}: no adapter reads a document whose root is {describe_root(root_tag)}. "
        f"Known formats: {known_formats(registry)}."
    )


def read_file(
    source: str | os.PathLike[str] | BinaryIO,
    adapter_key: str | None = None,
    *,
    path: str | None = None,
    adapters: Mapping[str, Adapter] | None = None,
) -> tuple[Adapter, Iterator[Record]]:
    """Open a back-office XML file and stream its records.

    `source` is a filesystem path or a seekable binary file object (read from its start; the
    caller keeps ownership of it). `adapter_key` forces a format, otherwise it is detected from
    the root element. `path` names the input in messages (default: the path or the stream name).

    The format is checked at once: XmlInputError / UnknownFormatError are raised by this call.
    The returned iterator parses lazily, yielding an AccountEvent or a RecordProblem per record;
    it can still raise XmlInputError (malformed further on) or InvalidDocumentError (e.g. a
    statement without any `Stmt`). A file opened from a path is closed when the iterator is
    exhausted or closed::

        adapter, records = read_file("inbox/notification.xml")
        for record in records:
            ...
    """
    if isinstance(source, str | os.PathLike):
        name = path or os.fspath(source)
        with open(source, "rb") as stream:
            adapter = _choose(stream, name, adapter_key, adapters)
        return adapter, _read_path(adapter, source, name)
    if not source.seekable():
        raise ValueError("read_file needs a seekable stream; spool it to a temporary file first")
    name = path or str(getattr(source, "name", "<stream>"))
    adapter = _choose(source, name, adapter_key, adapters)
    return adapter, adapter.iter_records(source, name)


def _choose(
    stream: BinaryIO,
    name: str,
    adapter_key: str | None,
    adapters: Mapping[str, Adapter] | None,
) -> Adapter:
    if adapter_key is None:
        return detect_adapter(stream, name, adapters)
    adapter = get_adapter(adapter_key, adapters)
    root_tag = detect_root(stream, name)
    if not adapter.accepts(root_tag):
        raise UnknownFormatError(
            f"{name}: the {adapter_key} adapter ({adapter.title}) does not read a document "
            f"whose root is {describe_root(root_tag)}. Known formats: {known_formats(adapters)}."
        )
    return adapter


def _read_path(adapter: Adapter, source: str | os.PathLike[str], name: str) -> Iterator[Record]:
    with open(source, "rb") as stream:
        yield from adapter.iter_records(stream, name)
