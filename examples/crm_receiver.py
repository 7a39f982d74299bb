"""A small receiver for Herald's outbound webhooks, as a CRM team would write one.

    python examples/crm_receiver.py --port 8099 --secret whsec_... --log received.jsonl

It checks the ``Herald-Signature`` header (HMAC-SHA256 of ``<t>.<body>`` with the subscription's
secret, the timestamp within five minutes), answers 401 to a bad signature, drops an event it has
already stored (by ``Herald-Event-Id``: Herald delivers at least once) and appends every new event
to the log, one JSON object a line. Standard library only, so it runs anywhere.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WINDOW_S = 300


def signature_problem(secret: str, body: bytes, header: str | None) -> str | None:
    """None when the header signs the body, else what is wrong."""
    if not header:
        return "no Herald-Signature header"
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit():
        return "no timestamp"
    if abs(time.time() - int(parts["t"])) > WINDOW_S:
        return "too old"
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), parts.get("v1", "")):
        return "signature mismatch"
    return None


class Receiver:
    """The receiver's state: the secret, the log file, the ids already seen."""

    def __init__(self, secret: str, log: Path) -> None:
        self.secret, self.log = secret, log
        self.lock = threading.Lock()
        self.seen: set[str] = set()
        if log.exists():
            self.seen = {str(json.loads(line)["id"]) for line in log.read_text().splitlines()}
        self.duplicates = 0
        self.refused = 0

    def handle(self, body: bytes, signature: str | None, event_id: str | None) -> int:
        if signature_problem(self.secret, body, signature):
            self.refused += 1
            return 401
        with self.lock:
            if event_id in self.seen:
                self.duplicates += 1
                return 200
            with self.log.open("a") as out:
                out.write(body.decode() + "\n")
            self.seen.add(str(event_id))
        return 200


def make_server(receiver: Receiver, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            code = receiver.handle(
                body, self.headers.get("Herald-Signature"), self.headers.get("Herald-Event-Id")
            )
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--secret", required=True, help="the subscription's secret")
    parser.add_argument("--log", type=Path, default=Path("received.jsonl"))
    args = parser.parse_args()
    server = make_server(Receiver(args.secret, args.log), args.port)
    print(f"listening on http://127.0.0.1:{args.port}/ , writing {args.log}")  # noqa: T201
    server.serve_forever()


if __name__ == "__main__":
    main()
