"""The demo's stand-in core-banking endpoint: checks Herald's signature, blocks a card, says so.

`herald demo` offers "Block my card" on large_debit as an automated transaction: when a customer
chooses it, Herald POSTs the request here (JSON, ``X-Herald-Signature: sha256=<hex>``, see
``alerts.responses.actions``) and speaks the ``say`` of the answer back on the call. A real
bank's endpoint would do the same checks: the signature over the exact body, then the request
id as the idempotency key (a retried request gets the first answer again).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypedDict

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from alerts.responses.actions import sign_body
from channels.twilio_sim import LoopbackServer

logger = logging.getLogger(__name__)

BLOCK_CARD_PATH = "/cards/block"


class BankReply(TypedDict):
    """What the bank answers Herald: done, and the words to say to the customer."""

    ok: bool
    say: str


class BankRecord(TypedDict):
    """One request the bank carried out (values as the request sent them)."""

    customer_ref: object
    option: object
    reply: BankReply


@dataclass
class DemoBank:
    """Answers signed transaction requests; keeps what it did, for the demo's report."""

    secret: str
    done: dict[str, BankRecord] = field(default_factory=dict)  # request_id -> record
    refused: int = 0

    def answer(self, payload: dict[str, Any]) -> BankReply:
        ending = str((payload.get("context") or {}).get("account_ending") or "")
        return {
            "ok": True,
            "say": (
                f"Done. The card on your account ending {ending} is blocked, "
                "and a new card is on its way to you."
                if ending
                else "Done. Your card is blocked, and a new card is on its way to you."
            ),
        }

    def app(self) -> FastAPI:
        app = FastAPI(title="Herald demo bank", openapi_url=None)

        @app.post(BLOCK_CARD_PATH)
        async def block_card(request: Request) -> JSONResponse:
            body = await request.body()
            signature = request.headers.get("X-Herald-Signature", "")
            if not hmac.compare_digest(signature, sign_body(self.secret, body)):
                self.refused += 1
                logger.warning("demo bank: request with a bad signature refused")
                return JSONResponse({"ok": False, "reason": "bad signature"}, status_code=401)
            payload = json.loads(body)
            request_id = str(payload.get("request_id"))
            if request_id not in self.done:
                self.done[request_id] = {
                    "customer_ref": payload.get("customer_ref"),
                    "option": payload.get("option"),
                    "reply": self.answer(payload),
                }
                logger.info(
                    "demo bank: card blocked request_id=%s alert_id=%s",
                    request_id,
                    payload.get("alert_id"),
                )
            return JSONResponse(self.done[request_id]["reply"])

        return app

    def said_to(self, customer_ref: str) -> list[str]:
        """What the bank asked Herald to tell this customer."""
        return [
            str(d["reply"]["say"]) for d in self.done.values() if d["customer_ref"] == customer_ref
        ]


@contextlib.asynccontextmanager
async def running_bank(secret: str) -> AsyncIterator[tuple[DemoBank, str]]:
    """The demo bank on a free loopback port; yields it and its block-card URL."""
    bank = DemoBank(secret)
    server = LoopbackServer(bank.app())
    async with server:
        yield bank, f"{server.url}{BLOCK_CARD_PATH}"
