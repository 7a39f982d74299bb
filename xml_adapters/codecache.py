"""Code objects of generated mapping code, compiled once per process."""

from __future__ import annotations

from types import CodeType

_CODE: dict[tuple[str, str], CodeType] = {}
_LIMIT = 512  # distinct sources kept (a few per mapping and shape)


def compiled(text: str, filename: str) -> CodeType:
    """The code object of generated `text`. The plans of one mapping for different namespaces
    (camt.054.001.02, .08, ...) generate the same code, since names, tags and texts are handed
    to it as constants; compiling it costs more than reading a small file."""
    key = (text, filename)
    code = _CODE.get(key)
    if code is None:
        if len(_CODE) >= _LIMIT:
            _CODE.clear()
        code = _CODE[key] = compile(text, filename, "exec")
    return code
