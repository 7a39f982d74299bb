"""Stoplight Prism as a validating mock of Twilio's REST API, built from Twilio's own OpenAPI file.

Prism (pinned in package.json; `npm ci` installs it) validates every request against the spec.
An invalid request gets a 422 with the violations in the body, and they are logged; `--errors`
also turns a response that breaks the spec into a 500, so a broken mock cannot pass for a success.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from herald.embedded import free_port
from tests.conftest import REPO, missing_infrastructure

# Vendored with its licence and origin (tests/data/reference/README.md).
TWILIO_SPEC = REPO / "tests" / "data" / "reference" / "twilio" / "twilio_api_v2010.json"
PRISM_BIN = REPO / "node_modules" / ".bin" / "prism"
FORM = "application/x-www-form-urlencoded"
# The create operations Herald calls whose form bodies carry arrays sent as repeated keys.
FORM_ARRAY_OPERATIONS = (
    ("/2010-04-01/Accounts/{AccountSid}/Calls.json", "post"),
    ("/2010-04-01/Accounts/{AccountSid}/Messages.json", "post"),
)
# The list operations Herald calls (find_sent).
LIST_PATHS = tuple(path for path, _ in FORM_ARRAY_OPERATIONS)
STARTUP_SECONDS = 90.0
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Lines Prism logs when a request or response breaks the spec (errors and warnings alike).
VIOLATION_LINE = re.compile(r"\[VALIDATOR\].*(?:error|warning)\s|Violation:")


def patch_spec(spec: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of `spec` fixed where it disagrees with Twilio's real API; returns what was patched.

    Requests: every array property of the create operations' form bodies gets `style: form,
    explode: true`. Twilio and its client library send repeated keys
    (`StatusCallbackEvent=a&StatusCallbackEvent=b`); without that encoding Prism reads one value
    as a string and reports "must be array".

    Responses (what the mock answers, so `--errors` can stay on): the list pages' `*_uri` fields
    are relative in Twilio's API and in the spec's own examples, but declared `format: uri`, so
    they become `uri-reference`; and the canned pages lose their `next_page_uri`, or the client
    would follow it (with the example's filters and account) until it had read `limit` records.
    """
    patched = copy.deepcopy(spec)
    touched: list[str] = []
    for path, method in FORM_ARRAY_OPERATIONS:
        operation = patched["paths"][path][method]
        media = operation["requestBody"]["content"][FORM]
        encoding = media.setdefault("encoding", {})
        for name, prop in media["schema"]["properties"].items():
            if prop.get("type") == "array":
                encoding[name] = {**encoding.get(name, {}), "style": "form", "explode": True}
                touched.append(f"{operation.get('operationId', path)}.{name}")
    for path in LIST_PATHS:
        operation = patched["paths"][path]["get"]
        page = operation["responses"]["200"]["content"]["application/json"]
        for name, prop in page["schema"]["properties"].items():
            if name.endswith("uri") and prop.get("format") == "uri":
                prop["format"] = "uri-reference"
                touched.append(f"{operation['operationId']}.{name}")
        for name, example in page.get("examples", {}).items():
            if example["value"].get("next_page_uri"):
                example["value"]["next_page_uri"] = None
                touched.append(f"{operation['operationId']}.examples.{name}.next_page_uri")
    return patched, touched


@dataclass
class Prism:
    """A running Prism mock: its base URL and its log, read per request."""

    url: str
    log_path: Path
    patched: list[str]

    def mark(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, mark: int, *, requests: int = 1, timeout: float = 10.0) -> str:
        """Prism's log after `mark`, once `requests` requests have been answered."""
        deadline = time.monotonic() + timeout
        while True:
            with self.log_path.open("rb") as fh:
                fh.seek(mark)
                text = ANSI.sub("", fh.read().decode("utf-8", "replace"))
            done = len(re.findall(r"Responding with the requested status code|terminated", text))
            if done >= requests or time.monotonic() > deadline:
                return text
            time.sleep(0.05)

    def violations_since(self, mark: int, *, requests: int = 1) -> list[str]:
        text = self.log_since(mark, requests=requests)
        return [line.strip() for line in text.splitlines() if VIOLATION_LINE.search(line)]


def _wait_until_listening(
    proc: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"Prism exited with {proc.returncode} before listening:\n{log_path.read_text()}",
                pytrace=False,
            )
        if "Prism is listening" in log_path.read_text(errors="replace"):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                pass
        time.sleep(0.2)
    pytest.fail(
        f"Prism did not listen within {timeout:.0f}s:\n{log_path.read_text()}", pytrace=False
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # our own process group (start_new_session=True)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    """Prism serving a patched copy of Twilio's 2010 API description, for the whole session."""
    if not TWILIO_SPEC.is_file():  # part of the repository: missing is a defect, never a skip
        pytest.fail(f"Twilio's OpenAPI description is missing from {TWILIO_SPEC}", pytrace=False)
    if shutil.which("node") is None:
        missing_infrastructure("Node.js is not installed (Prism needs it: apt-get install nodejs)")
    if not PRISM_BIN.exists():
        missing_infrastructure(f"Prism is not installed at {PRISM_BIN} (run `npm ci` in {REPO})")

    work = tmp_path_factory.mktemp("prism")
    spec, patched = patch_spec(json.loads(TWILIO_SPEC.read_text(encoding="utf-8")))
    assert "CreateCall.StatusCallbackEvent" in patched, patched
    spec_path = work / "twilio_api_v2010.patched.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")

    port = free_port()
    log_path = work / "prism.log"
    args = [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", str(port), "--errors"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*args, str(spec_path)],
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_listening(proc, port, log_path, STARTUP_SECONDS)
        yield Prism(url=f"http://127.0.0.1:{port}", log_path=log_path, patched=patched)
    finally:
        _stop(proc)
