"""SMS length as carriers bill it: GSM-7 (160 / 153 per part) or UCS-2 (70 / 67 per part)."""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set and the extension table (each extension char takes two septets).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class SmsLength:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    offending: str  # characters that forced UCS-2, for the editor's message

    def describe(self) -> str:
        text = f"{self.segments} segment(s), {self.encoding}, {self.units} units"
        if self.offending:
            text += f" (UCS-2 because of {self.offending!r})"
        return text


def sms_length(text: str) -> SmsLength:
    offending = "".join(sorted({c for c in text if c not in GSM_BASIC and c not in GSM_EXTENDED}))
    if not offending:
        units = sum(2 if c in GSM_EXTENDED else 1 for c in text)
        single, part = 160, 153
        encoding = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
        encoding = "UCS-2"
    segments = 0 if units == 0 else 1 if units <= single else -(-units // part)
    return SmsLength(encoding=encoding, units=units, segments=segments, offending=offending)
