"""The simulator in a process of its own, writing each message and call it receives (to, from,
arrival time) as a JSON line: what rate tests and benchmarks count, undisturbed by their own
event loop (``python -m channels.twilio_sim.recorder CONFIG.json PORT OUT.jsonl``)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import IO

from channels.twilio_sim.scenario import SimulatorConfig
from channels.twilio_sim.server import SimulatorServer
from channels.twilio_sim.state import CallRecord, MessageRecord


def _recording(server: SimulatorServer, out: IO[str]) -> None:
    state = server.state
    add_message, add_call = state.add_message, state.add_call

    def message(record: MessageRecord) -> MessageRecord:
        line = {
            "kind": "sms",
            "direction": record.direction,
            "to": record.to,
            "from": record.from_,
            "at": time.time(),
        }
        out.write(json.dumps(line) + "\n")
        out.flush()
        return add_message(record)

    def call(record: CallRecord) -> CallRecord:
        line = {"kind": "voice", "to": record.to, "from": record.from_, "at": time.time()}
        out.write(json.dumps(line) + "\n")
        out.flush()
        return add_call(record)

    state.add_message = message  # type: ignore[method-assign,assignment]
    state.add_call = call  # type: ignore[method-assign,assignment]


async def main(config_path: str, port: int, out_path: str) -> None:
    config = SimulatorConfig.model_validate_json(Path(config_path).read_text())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    with Path(out_path).open("w") as out:
        async with SimulatorServer(config, port=port) as server:
            _recording(server, out)
            print(f"recording simulator on {server.url}", flush=True)  # noqa: T201
            await stop.wait()


def received(path: Path) -> list[dict[str, object]]:
    """What a recorder wrote so far."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
