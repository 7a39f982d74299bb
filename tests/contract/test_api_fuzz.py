"""Schemathesis over Herald's own OpenAPI document, against a real server (issue 17, point 7).

Every operation of the JSON API is sent generated valid and invalid input; the run fails on any
5xx, on a status code the operation does not declare, on a body that does not match the
declared schema (the one error envelope included) and on a wrong content type. The seed is
fixed so a failure can be reproduced with the command the test prints.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

from channels.twilio_sim import LoopbackServer
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.conftest import REPO
from tests.factories import api_headers

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES = int(os.environ.get("HERALD_FUZZ_EXAMPLES", "8"))


@pytest.mark.timeout(900)  # a few thousand requests; ~1 min on an idle 2-core machine
async def test_no_operation_answers_5xx_or_breaks_its_schema(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    api = LoopbackServer(create_app(settings, runtime), port=settings.api_port)
    token = api_headers(settings)["Authorization"]
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(tmp_path / "openapi.json"),
        "--url",
        settings.public_url,
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "17",
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--generation-database",
        "none",
        "--no-color",
        "--request-timeout",
        "20",
        "-H",
        f"Authorization:{token}",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    async with api:
        # Read the document first (a slow first render must not time schemathesis out).
        async with httpx.AsyncClient(base_url=settings.public_url, timeout=60) as http:
            doc = await http.get("/openapi.json")
        (tmp_path / "openapi.json").write_bytes(doc.raise_for_status().content)
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
            env={
                **os.environ,
                "PYTHONPATH": str(REPO),
                "SCHEMATHESIS_HOOKS": "tests.contract.st_hooks",
            },
        )
        out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    assert proc.returncode == 0, f"schemathesis found problems:\n{text[-20000:]}"
