"""The email's chrome: a responsive, single-column, table-based HTML shell with inline CSS only
(no <style>, no external CSS/JS/fonts), so that it renders in the common mail clients and fits a
390 px phone. The words of the alert come from the alert type's content; this only frames them."""

from __future__ import annotations

from html import escape

TEXT_COLOUR = "#222222"  # on white: contrast 15.9:1
BACKGROUND = "#f4f4f4"


def email_document(body: str, *, locale: str, preheader: str, footer: str = "") -> str:
    """The full HTML document around ``body`` (already safe HTML); ``preheader`` is the hidden
    line mail clients show beside the subject."""
    lang = escape(locale.replace("_", "-"), quote=True)
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
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f'<body style="margin:0;padding:0;background:{BACKGROUND}">{hidden}'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="background:{BACKGROUND}"><tr><td align="center" style="padding:16px 8px">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:600px;width:100%;background:#ffffff">'
        '<tr><td style="padding:24px;font-family:Arial,Helvetica,sans-serif;font-size:16px;'
        f'line-height:1.45;color:{TEXT_COLOUR};word-wrap:break-word">{body}</td></tr>'
        f"{foot}</table></td></tr></table></body></html>"
    )
