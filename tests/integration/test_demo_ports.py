"""The demo picks its own ports; one taken by another program before the demo binds it (on a
busy machine an outgoing connection can take a just-checked port) means choosing again."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from rich.console import Console

import herald.demo as demo
from herald.config import Settings
from herald.embedded import PortTakenError

pytestmark = pytest.mark.integration


def settings_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in [n for n in os.environ if n.startswith("HERALD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HERALD_DATA_DIR", str(tmp_path / "d"))
    return Settings()


async def test_a_port_taken_after_the_choice_is_chosen_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path, monkeypatch)
    chosen: list[int] = []
    real = demo.demo_settings

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        taken = held.getsockname()[1]

        def racing(base: Settings) -> Settings:
            picked = real(base)
            if not chosen:  # the first choice: the port was free, then someone took it
                picked = picked.model_copy(update={"api_port": taken})
            chosen.append(picked.api_port)
            return picked

        monkeypatch.setattr(demo, "demo_settings", racing)
        result = await demo.run_demo(settings, Console(quiet=True), serve=False, quiet=True)
    assert chosen[0] == taken and len(chosen) == 2 and chosen[1] != taken
    assert result["events"] == 16, result


async def test_a_port_that_stays_taken_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path, monkeypatch)
    real = demo.demo_settings
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        taken = held.getsockname()[1]
        monkeypatch.setattr(
            demo, "demo_settings", lambda base: real(base).model_copy(update={"api_port": taken})
        )
        with pytest.raises(PortTakenError) as raised:
            await demo.run_demo(settings, Console(quiet=True), serve=False, quiet=True)
    assert f"port {taken} on 127.0.0.1 (the API) is already in use" in str(raised.value)
    assert "HERALD_API_PORT" in str(raised.value)
