"""The email's chrome: a responsive, single-column, table-based HTML shell with inline CSS only
(no <style>, no external CSS/JS/fonts), so that it renders in the common mail clients and fits a
390 px phone. The words of the alert come from the alert type's content; this only frames them."""

from __future__ import annotations

from html import escape

TEXT_COLOUR = "#222222"  # on white: contrast 15.9:1
BACKGROUND = "#f4f4f4"
BRAND_COLOUR = "#16324f"  # HERALD_BRAND_COLOUR's default


def _luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_on(colour: str) -> str:
    """White or dark text, whichever reads better on ``colour`` (one of them is >= 4.5:1)."""
    return (
        "#ffffff" if contrast(colour, "#ffffff") >= contrast(colour, TEXT_COLOUR) else TEXT_COLOUR
    )


def email_document(
    body: str,
    *,
    locale: str,
    preheader: str,
    footer: str = "",
    brand: str = "",
    brand_colour: str = BRAND_COLOUR,
    title: str = "",
) -> str:
    """The full HTML document around ``body`` (already safe HTML); ``preheader`` is the hidden
    line mail clients show beside the subject; ``brand`` the name in the band at the top, on
    ``brand_colour``."""
    lang = escape(locale.replace("_", "-"), quote=True)
    band = (
        f'<tr><td style="padding:14px 24px;background:{brand_colour};color:{text_on(brand_colour)};'
        "font-family:Arial,Helvetica,sans-serif;font-size:18px;font-weight:bold;"
        f'word-wrap:break-word">{escape(brand)}</td></tr>'
        if brand
        else ""
    )
    hidden = (
        '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
        f"{escape(preheader)}</div>"
    )
    foot = (
        f'<tr><td style="padding:16px 24px;font-size:13px;color:#555555">{footer}</td></tr>'
        if footer
        else ""
    )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title or brand)}</title></head>"
        f'<body style="margin:0;padding:0;background:{BACKGROUND}">{hidden}'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="background:{BACKGROUND}"><tr><td align="center" style="padding:16px 8px">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="max-width:600px;width:100%;background:#ffffff">{band}'
        '<tr><td style="padding:24px;font-family:Arial,Helvetica,sans-serif;font-size:16px;'
        f'line-height:1.45;color:{TEXT_COLOUR};word-wrap:break-word">{body}</td></tr>'
        f"{foot}</table></td></tr></table></body></html>"
    )
