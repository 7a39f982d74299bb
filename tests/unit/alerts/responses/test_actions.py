"""The transaction endpoint's answers, as the customer will hear them (httpx mock transport)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from alerts.responses.actions import call_endpoint, sign_body

SECRET = "test-secret"


class Deps:
    transaction_secret = SECRET


def client(status: int, body: Any, content_type: str = "application/json") -> httpx.AsyncClient:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        text = json.dumps(body) if content_type == "application/json" else str(body)
        return httpx.Response(status, text=text, headers={"content-type": content_type})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    http.seen = seen  # type: ignore[attr-defined]
    return http


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (200, {"ok": True, "say": "Card blocked."}, "application/json", ("Card blocked.", None)),
        (200, {"ok": True}, "application/json", ("Thank you. That is done.", None)),
        (
            200,
            {"ok": False, "reason": "insufficient funds", "say": "Not enough money."},
            "application/json",
            ("Not enough money.", "insufficient funds"),
        ),
        (503, {"error": "down"}, "application/json", (None, "the endpoint answered HTTP 503")),
        (
            200,
            "<html>Please log in</html>",
            "text/html",
            (None, "the endpoint answered HTTP 200 without a JSON object"),
        ),
        (
            200,
            [1, 2],
            "application/json",
            (None, "the endpoint answered HTTP 200 without a JSON object"),
        ),
    ],
)
async def test_answers(status: int, body: Any, content_type: str, expected: Any) -> None:
    http = client(status, body, content_type)
    result = await call_endpoint(Deps(), "https://bank.example/x", {"a": 1}, http)  # type: ignore[arg-type]
    await http.aclose()
    assert result == expected


async def test_the_request_is_signed_over_its_exact_body() -> None:
    http = client(200, {"ok": True})
    await call_endpoint(Deps(), "https://bank.example/x", {"b": 2, "a": 1}, http)  # type: ignore[arg-type]
    [request] = http.seen  # type: ignore[attr-defined]
    await http.aclose()
    expected = "sha256=" + hmac.new(SECRET.encode(), request.content, hashlib.sha256).hexdigest()
    assert request.headers["X-Herald-Signature"] == expected == sign_body(SECRET, request.content)
    assert json.loads(request.content) == {"a": 1, "b": 2}


async def test_an_unreachable_endpoint_is_a_problem_not_a_crash() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    result = await call_endpoint(Deps(), "https://bank.example/x", {}, http)  # type: ignore[arg-type]
    await http.aclose()
    assert result == (None, "the endpoint could not be reached: ConnectError")
