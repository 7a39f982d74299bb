"""Screenshots for the docs: `make screenshots` runs the browser tests with
HERALD_SCREENSHOTS_DIR set, and the shots the README shows are copied there under stable names.
A normal test run writes nothing into the repository."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# The test's own file name -> the name in docs/screenshots/.
DOCS_SHOTS = {
    "list-1280.png": "studio-alert-types.png",
    "preview-1280.png": "studio-preview.png",
    "preview-390.png": "studio-preview-phone.png",
    "options-list-1280.png": "studio-options.png",
    "delivery-1280.png": "studio-delivery.png",
    "report-funnel-1280.png": "report-funnel.png",
    "report-calls-avoided-1280.png": "report-calls-avoided.png",
    "report-handoffs-1280.png": "report-handoffs.png",
    "agent-console-ringing-1280.png": "agent-console.png",
    "agent-screen-pop-1280.png": "agent-screen-pop.png",
    "agent-screen-pop-390.png": "agent-screen-pop-phone.png",
    "crm-log-1280.png": "crm-webhooks.png",
    "customer-preferences-390.png": "customer-preferences-phone.png",
    "customer-answer-390.png": "customer-answer-phone.png",
    "supervisor-board-1280.png": "supervisor-board.png",
    "supervisor-board-390.png": "supervisor-board-phone.png",
    "supervisor-forecast-1280.png": "supervisor-forecast.png",
    "recordings-1280.png": "studio-recordings.png",
    "hours-1280.png": "studio-hours.png",
    "phone-agent-1280.png": "studio-phone.png",
    "phone-agent-390.png": "studio-phone-phone.png",
    "phone-test-send-1280.png": "studio-test-send.png",
    "email-trial-answered-1280.png": "studio-email-trial.png",
    "agent-routed-pop-1280.png": "agent-routed-pop.png",
}


@pytest.fixture(autouse=True)
def _keep_for_docs(tmp_path: Path) -> Iterator[None]:
    yield
    target = os.environ.get("HERALD_SCREENSHOTS_DIR")
    if not target:
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    for name, kept in DOCS_SHOTS.items():
        if (tmp_path / name).exists():
            shutil.copyfile(tmp_path / name, Path(target) / kept)
