"""Provider code lives in channels/: nothing in alerts/ reads a Twilio parameter, imports the
twilio library, or writes TwiML; the alert domain builds channels.scripts values and the
channel parses and renders the wire."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TWILIO_PARAMETERS = frozenset(
    {
        "AccountSid",
        "AnsweredBy",
        "Body",
        "CallSid",
        "CallStatus",
        "Called",
        "Caller",
        "DialCallSid",
        "DialCallStatus",
        "Digits",
        "ErrorCode",
        "From",
        "MessageSid",
        "MessageStatus",
        "ParentCallSid",
        "QueueResult",
        "SmsSid",
        "SmsStatus",
        "To",
        "X-Twilio-Signature",
    }
)
TWIML = re.compile(
    r"<\s*/?\s*(Response|Say|Play|Gather|Redirect|Dial|Number|Enqueue|Queue|Hangup|Message|"
    r"Pause|Reject)\b"
)


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants (words about the wire are fine, code is not)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def provider_terms(source: str, where: str) -> list[str]:
    tree = ast.parse(source)
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            )
            found += [
                f"{where}:{node.lineno} imports {m}"
                for m in modules
                if m and m.split(".")[0] == "twilio"
            ]
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        ):
            wire = node.value in TWILIO_PARAMETERS or TWIML.search(node.value)
            found += [f"{where}:{node.lineno} {node.value!r}"] if wire else []
    return found


def test_alerts_never_speaks_twilio() -> None:
    problems = [
        problem
        for path in sorted((ROOT / "alerts").rglob("*.py"))
        for problem in provider_terms(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert problems == []


def test_the_check_finds_what_it_looks_for() -> None:
    source = (
        '"""A docstring may say <Say> and CallSid."""\n'
        "from twilio.twiml.voice_response import VoiceResponse\n"
        'digits = {"Digits": "1"}["Digits"]\n'
        'xml = f"<Response><Hangup/></Response>"\n'
    )
    found = provider_terms(source, "sample.py")
    assert len(found) == 4, found  # the import, "Digits" twice, the TwiML; not the docstring
