"""HERALD_LOG_FORMAT=json: one JSON object per line, ids as fields, contact points masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from herald.config import Settings
from herald.logs import configure


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root handler configure() installs, writing to a buffer; logging restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()
    yield buffer
    root.handlers = saved[0]
    root.setLevel(saved[1])


def _point_at(buffer: io.StringIO) -> None:
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)


def test_json_lines_carry_ids_and_mask_contacts(captured: io.StringIO) -> None:
    configure("INFO", json_format=True)
    _point_at(captured)
    log = logging.getLogger("alerts.delivery.steps")
    log.info("sent attempt_id=%s alert_id=%s to=%s", 41, 7, "+31612345678")
    log.warning("bounce from %s", "jane.doe@example.com", extra={"file_id": 3})
    try:
        raise ValueError("cannot reach +4915112345678")
    except ValueError:
        log.exception("step failed alert_id=%s", 8)
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert len(lines) == 3
    sent, bounce, failed = lines
    assert sent["level"] == "info" and sent["logger"] == "alerts.delivery.steps"
    assert sent["attempt_id"] == 41 and sent["alert_id"] == 7
    assert "+31612345678" not in sent["message"] and "+31***78" in sent["message"]
    assert sent["time"].endswith("+00:00")
    assert bounce["file_id"] == 3
    assert "jane.doe@" not in bounce["message"] and "j***@example.com" in bounce["message"]
    assert failed["alert_id"] == 8 and "ValueError" in failed["exception"]
    assert "+4915112345678" not in failed["exception"]


def test_text_lines_are_masked_too(captured: io.StringIO) -> None:
    configure("INFO")
    _point_at(captured)
    logging.getLogger("herald").info("reply from %s about alert_id=%s", "+15550001234", 5)
    line = captured.getvalue().strip()
    assert "+15550001234" not in line and "+15***34" in line and "alert_id=5" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_the_setting() -> None:
    assert Settings(_env_file=None).log_format == "text"
    assert Settings(_env_file=None, log_format="json").log_format == "json"
    with pytest.raises(ValueError, match="log_format"):
        Settings(_env_file=None, log_format="xml")
