"""The `herald` command as a user runs it: real processes, the embedded default, clear errors."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from herald.config import Settings
from herald.embedded import free_port
from herald.runtime import Runtime
from tests.conftest import REPO
from tests.service.alerts.customers.test_history import seed

# Each test starts real `herald` processes (each importing the app, some the embedded services):
# a minute or two on a loaded 2-core machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
HERALD = str(Path(sys.executable).parent / "herald")
# What `herald` listens on or connects to by default (herald/config.py).
DEFAULT_SIMULATOR_PORT = 8765
DEFAULT_SINK_PORT = 8025


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hcli-", dir="/tmp"))  # short: it holds a unix socket
    yield path
    shutil.rmtree(path, ignore_errors=True)


def port_env() -> dict[str, str]:
    """Free ports for every server a `herald` command may start, fresh for each command: two
    runs of the suite on one machine (or anything else listening on the defaults) never meet."""
    api = free_port()
    return {
        "HERALD_API_PORT": str(api),
        "HERALD_PUBLIC_URL": f"http://127.0.0.1:{api}",
        "HERALD_TWILIO__SIMULATOR_PORT": str(free_port()),
        "HERALD_SMTP__SINK_PORT": str(free_port()),
        "HERALD_SMTP__BOUNCE_PORT": str(free_port()),
    }


def herald(
    data_dir: Path,
    *args: str,
    stdin: str | None = None,
    timeout: float = 180,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    base.update(HERALD_DATA_DIR=str(data_dir), HERALD_LOG_LEVEL="WARNING", **port_env())
    return subprocess.run(
        [HERALD, *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        input=stdin,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Path, subprocess.CompletedProcess[str]]]:
    """One run of `herald demo --no-serve --json` (its data dir, its output), with every log
    line down to DEBUG on stderr, as `HERALD_LOG_LEVEL=DEBUG herald demo --verbose` prints."""
    path = Path(tempfile.mkdtemp(prefix="hdemo-", dir="/tmp"))
    done = herald(
        path, "demo", "--no-serve", "--json", "--verbose", env={"HERALD_LOG_LEVEL": "DEBUG"}
    )
    yield path, done
    shutil.rmtree(path, ignore_errors=True)


def demo_contacts() -> list[str]:
    """Every phone number and email address of the demo's customers, in full."""
    with (REPO / "examples" / "customers.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    found = [a for row in rows for a in (row["phones"] + ";" + row["emails"]).split(";") if a]
    found.append("yui@example.com")  # where Kenji forwards his alert (herald/demo.py)
    return found


def test_demo_logs_no_customer_contact_in_full(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, done = demo
    assert done.returncode == 0, done.stderr
    logs = done.stderr
    assert " DEBUG " in logs and " INFO " in logs  # captured down to DEBUG
    contacts = demo_contacts()
    assert len(contacts) == 29 and "+15550000014" in contacts and "nora@example.com" in contacts
    leaks = [
        line
        for line in (logs + done.stdout).splitlines()
        for contact in contacts
        if contact in line or (contact.startswith("+") and contact[1:] in line)
    ]
    assert not leaks, "full contact details in the log:\n" + "\n".join(leaks[:20])
    assert "to=+15***01" in logs and "to=k***@example.com" in logs  # named, but masked


def test_demo_runs_the_whole_loop_and_exits(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    data_dir, done = demo
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["events"] == 16
    assert summary["decisions"] == {"alert": 14, "skip": 3}
    # Delivered, not closed: Eva (payment received), Hana (asked for a copy), Kenji (forwarded
    # it), Marco (texted STOP), Nora (a question for an agent).
    assert summary["alerts"] == {"closed": 9, "delivered": 5}
    # Kenji's forward and Lena's "call me now" are delivered like alerts, counted apart.
    assert summary["requested_sends"] == {"call_now/delivered": 1, "forward/delivered": 1}
    assert summary["attempts"] == {
        "email/sent": 4,  # 3 alerts and the forwarded copy
        "sms/delivered": 5,
        "voice/completed": 8,  # 7 alerts and the call to Lena
        "voice/no_answer": 1,
    }
    # One customer (at least) for every kind of answer, on every channel.
    assert summary["responses"] == {
        "email/agent": 1,
        "email/call_me": 1,
        "email/forward": 1,
        "sms/confirm": 1,
        "sms/stop": 1,
        "sms/unknown": 1,
        "voice/agent": 1,
        "voice/callback": 1,
        "voice/confirm": 2,
        "voice/opt_out": 1,
        "voice/repeat": 1,
        "voice/sms_copy": 1,
        "voice/transaction": 1,
    }
    # The transaction's task was created with the answer and closed by the bank's reply.
    assert summary["handoffs"] == {"call_now": 1, "callback": 3, "live_transfer": 1, "task": 1}
    # The demo's database is a normal Herald database: history reads it.
    history = herald(data_dir / "demo", "history", "C-1001", "--json")
    assert history.returncode == 0, history.stderr
    data = json.loads(history.stdout)
    alert = data["events"][0]["alerts"][0]
    assert alert["handoffs"][0]["kind"] == "live_transfer"
    assert alert["attempts"][0]["to"] == "+15550000001"
    readable = herald(data_dir / "demo", "history", "C-1001")
    assert "live_transfer" in readable.stdout and "+15***01" in readable.stdout
    ivan = json.loads(herald(data_dir / "demo", "history", "C-1009", "--json").stdout)
    [callback] = ivan["events"][0]["alerts"][0]["handoffs"]
    assert callback["context"]["callback_keyed"] == "1430"
    julia = json.loads(herald(data_dir / "demo", "history", "C-1010", "--json").stdout)
    assert julia["preference_changes"][0]["actor"] == "customer (voice answer)"


async def test_history_shows_a_page_and_the_command_for_the_older_one(
    runtime: Runtime, settings: Settings, data_dir: Path
) -> None:
    await seed(runtime, ref="C-CLI", account="NL01HIST0000000003", alerts=3, skips=1)
    env = {
        "HERALD_DATABASE_URL": str(settings.database_url),
        "HERALD_REDIS_URL": str(settings.redis_url),
    }
    first = herald(data_dir, "history", "C-CLI", "--limit", "2", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("  alert #") == 2
    assert "Showing 1 of 1 events without an alert." in first.stdout
    found = re.search(r"Showing 2 of 3 alerts\. Older: herald (history C-CLI .*)", first.stdout)
    assert found, first.stdout
    assert found.group(1).startswith("history C-CLI --limit 2 --before ")
    older = herald(data_dir, *found.group(1).split(), env=env)  # the command as printed
    assert older.stdout.count("  alert #") == 1
    assert "Showing 3 to 3 of 3 alerts.\n" in older.stdout
    data = json.loads(herald(data_dir, *found.group(1).split(), "--json", env=env).stdout)
    assert data["pages"]["alerts"]["newer"] == 2 and data["pages"]["alerts"]["older"] is None
    refused = herald(data_dir, "history", "C-CLI", "--limit", "0", env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--limit" in refused.stderr


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A port bound but not listening, held for the block: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@contextlib.contextmanager
def listening(port: int) -> Iterator[socket.socket | None]:
    """Something else listening on ``port`` (it accepts, never answers); None if the port is
    taken already, by whatever took it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        yield None
        return
    with s:
        s.listen(16)
        s.setblocking(False)
        yield s


def connections(listener: socket.socket | None) -> int:
    """How many clients connected to ``listener`` (the kernel queues them unaccepted)."""
    count = 0
    while listener is not None:
        try:
            listener.accept()[0].close()
        except BlockingIOError:
            break
        count += 1
    return count


def import_ingest_and_burst(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "customers.csv"
    bad.write_text(
        (REPO / "examples" / "customers.csv").read_text()
        + "C-9,No Phone Format,en,UTC,XX00,555-1234,,voice\n"
    )
    imported = herald(data_dir, "customers", "import", str(bad), "--json")
    assert imported.returncode == 1  # some rows were rejected
    result = json.loads(imported.stdout)
    assert result["imported"] == 14
    assert result["errors"][0]["row"] == 16 and "E.164" in result["errors"][0]["error"]

    feed = str(REPO / "examples" / "feeds" / "camt054-demo.xml")
    first = herald(data_dir, "ingest", feed, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)[0]["events_created"] == 7
    again = herald(data_dir, "ingest", feed, "--json")
    assert json.loads(again.stdout)[0]["status"] == "duplicate_file"

    # No simulator and no SMTP sink run here (their ports refuse connections): the providers
    # are unreachable, so the work is retried, not lost.
    with closed_port() as twilio, closed_port() as smtp:
        drained = herald(
            data_dir,
            "run",
            "--burst",
            "--json",
            "--timeout",
            "20",
            env={"HERALD_TWILIO__SIMULATOR_PORT": str(twilio), "HERALD_SMTP__SINK_PORT": str(smtp)},
        )
    assert drained.returncode == 0, drained.stderr
    assert json.loads(drained.stdout)["jobs_left"] >= 1


def test_import_ingest_and_burst_from_the_command_line(data_dir: Path, tmp_path: Path) -> None:
    import_ingest_and_burst(data_dir, tmp_path)
    # Waiting for the deferred retries too cannot finish while the providers are unreachable:
    # the timeout fails loudly, saying what was left.
    with closed_port() as twilio, closed_port() as smtp:
        stuck = herald(
            data_dir,
            "run",
            "--burst",
            "--wait-deferred",
            "--timeout",
            "3",
            env={"HERALD_TWILIO__SIMULATOR_PORT": str(twilio), "HERALD_SMTP__SINK_PORT": str(smtp)},
        )
    assert stuck.returncode == 2, stuck.stdout + stuck.stderr
    assert "Traceback" not in stuck.stderr
    [line] = [x for x in stuck.stderr.splitlines() if x.startswith("error:")]
    assert "deferred steps too, did not finish within 3s (--timeout)" in line
    assert re.search(r"jobs queued: herald:\w+ \d+ due, [1-9]\d* deferred", line), line
    assert re.search(r"[1-9]\d* alert\(s\) with a step to come: alert \d+ step \d+ \(", line)


def test_whatever_listens_on_the_default_ports_is_left_alone(
    data_dir: Path, tmp_path: Path
) -> None:
    """Another Herald (or anything) on the default simulator and sink ports: the commands a
    test runs use their own ports, so they neither fail nor talk to it."""
    with listening(DEFAULT_SIMULATOR_PORT) as twilio, listening(DEFAULT_SINK_PORT) as smtp:
        import_ingest_and_burst(data_dir, tmp_path)
        assert connections(twilio) == 0 and connections(smtp) == 0


@pytest.mark.parametrize(
    ("command", "setting", "words"),
    [
        pytest.param(["serve"], "HERALD_API_PORT", ["--port"], id="serve"),
        pytest.param(["serve", "--port", "{port}"], None, ["the API", "--port"], id="serve-flag"),
        pytest.param(["up"], "HERALD_API_PORT", ["the API"], id="up-api"),
        pytest.param(["up"], "HERALD_TWILIO__SIMULATOR_PORT", ["Twilio simulator"], id="up-sim"),
        pytest.param(["up"], "HERALD_SMTP__SINK_PORT", ["SMTP sink"], id="up-sink"),
        pytest.param(["up"], "HERALD_SMTP__BOUNCE_PORT", ["bounce receiver"], id="up-bounce"),
        pytest.param(
            ["simulate"],
            "HERALD_TWILIO__SIMULATOR_PORT",
            ["Twilio simulator", "--port"],
            id="simulate",
        ),
    ],
)
def test_a_taken_port_is_one_clear_line(
    data_dir: Path, command: list[str], setting: str | None, words: list[str]
) -> None:
    port = free_port()
    with listening(port) as held:
        assert held is not None
        args = [a.replace("{port}", str(port)) for a in command]
        done = herald(data_dir, *args, env={setting: str(port)} if setting else {}, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert f"port {port} on 127.0.0.1" in line and "already in use" in line
    for word in [*words, *([setting] if setting else [])]:
        assert word in line


def test_users_and_errors_are_clear(data_dir: Path, tmp_path: Path) -> None:
    made = herald(data_dir, "users", "create", "ops", "--password", "long-enough-pw")
    assert made.returncode == 0, made.stderr
    dup = herald(data_dir, "users", "create", "ops", "--password", "long-enough-pw")
    assert dup.returncode == 2 and "already" in dup.stderr and "Traceback" not in dup.stderr
    agent = herald(
        data_dir,
        "users",
        "create",
        "ann",
        "--role",
        "agent",
        "--skills",
        "general",
        "--password",
        "long-enough-pw",
    )
    assert agent.returncode == 0 and "serves general" in agent.stdout, agent.stderr
    unknown = herald(
        data_dir,
        "users",
        "create",
        "bob",
        "--role",
        "agent",
        "--skills",
        "fraud",
        "--password",
        "long-enough-pw",
    )
    assert unknown.returncode == 2 and "no such queue: fraud" in unknown.stderr
    broken = tmp_path / "broken.xml"
    broken.write_text("<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.054.001.08'><Bk>")
    failed = herald(data_dir, "ingest", str(broken))
    assert failed.returncode == 1
    assert "broken.xml, line 1" in failed.stdout and "Traceback" not in failed.stdout
    missing = herald(data_dir, "ingest", str(tmp_path / "nope.xml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    empty = tmp_path / "inbox"
    (empty / "2024").mkdir(parents=True)
    (empty / "2024" / "export.xml").write_text("<x/>")
    nothing = herald(data_dir, "ingest", str(empty))
    assert nothing.returncode == 2, nothing.stdout + nothing.stderr
    assert "no *.xml file in this directory" in nothing.stderr
    assert "sub-directories are not read" in nothing.stderr and "Traceback" not in nothing.stderr
    env_bad = subprocess.run(
        [HERALD, "migrate"],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "HERALD_PUBLIC_URL": "herald.example.com",
            "HERALD_DATA_DIR": str(data_dir),
        },
    )
    assert env_bad.returncode == 2
    assert "HERALD_PUBLIC_URL: must start with http" in env_bad.stderr


def test_adapters_list_and_check(data_dir: Path) -> None:
    env_dir = REPO / "examples" / "mappings"
    listed = subprocess.run(
        [HERALD, "adapters", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "HERALD_MAPPINGS_DIR": str(env_dir), "HERALD_DATA_DIR": str(data_dir)},
    )
    assert listed.returncode == 0, listed.stderr
    keys = [a["key"] for a in json.loads(listed.stdout)]
    assert {
        "camt052",
        "camt053",
        "camt054",
        "ubl_invoice",
        "shipment_status",
        "itinerary_change",
        "example_waterworks",
    } <= set(keys)
    checked = herald(
        data_dir,
        "adapters",
        "check",
        "--json",
        str(REPO / "examples" / "feeds" / "bespoke" / "itinerary-changes.xml"),
    )
    result = json.loads(checked.stdout)
    assert result["adapter"] == "itinerary_change" and result["events"] >= 1
    assert checked.returncode == (0 if result["ok"] else 1)
    assert not (data_dir / "herald.db").exists()  # a dry run writes nothing
    broken = data_dir / "bad-mapping"
    broken.mkdir()
    (broken / "x.toml").write_text('key = "x"\n')
    bad = subprocess.run(
        [HERALD, "adapters", "list"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "HERALD_MAPPINGS_DIR": str(broken), "HERALD_DATA_DIR": str(data_dir)},
    )
    assert bad.returncode == 2 and "x.toml" in bad.stderr and "Traceback" not in bad.stderr


def test_users_lock_unlock_and_reset(data_dir: Path) -> None:
    def state() -> tuple[int, int, str]:
        with sqlite3.connect(data_dir / "herald.db") as db:
            row = db.execute(
                "SELECT disabled, auth_version, password_hash FROM users WHERE username = 'ann'"
            ).fetchone()
        return int(row[0]), int(row[1]), str(row[2])

    for name, role in (("ops", "admin"), ("ann", "agent")):
        made = herald(
            data_dir, "users", "create", name, "--role", role, "--password", "long-pw-123"
        )
        assert made.returncode == 0, made.stderr
    _, version, old_hash = state()
    locked = herald(data_dir, "users", "lock", "ANN")
    assert locked.returncode == 0 and "sessions have ended" in locked.stdout, locked.stderr
    assert state()[:2] == (1, version + 1)
    unlocked = herald(data_dir, "users", "unlock", "ann")
    assert unlocked.returncode == 0 and state()[0] == 0, unlocked.stderr
    reset = herald(data_dir, "users", "reset", "ann")
    assert reset.returncode == 0 and "new password" in reset.stdout, reset.stderr
    assert state()[1] == version + 3 and state()[2] != old_hash
    only = herald(data_dir, "users", "lock", "ops")
    assert only.returncode == 2 and "only administrator" in only.stderr, only.stderr
    missing = herald(data_dir, "users", "lock", "nobody")
    assert missing.returncode == 2 and "there is no user 'nobody'" in missing.stderr
    assert "Traceback" not in only.stderr + missing.stderr


@pytest.mark.timeout(300)  # four `herald` processes, each starting the embedded services
def test_an_ingest_killed_part_way_is_shown_interrupted_and_resumed_with_one_command(
    data_dir: Path, tmp_path: Path
) -> None:
    import signal
    import time

    from benchmarks.ingest import generate

    feed = tmp_path / "night.xml"
    entries = generate(feed, megabytes=12)
    base = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    base.update(HERALD_DATA_DIR=str(data_dir), HERALD_LOG_LEVEL="WARNING", **port_env())
    proc = subprocess.Popen(
        [HERALD, "ingest", str(feed)],
        env=base,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stored = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with (
                contextlib.suppress(sqlite3.OperationalError),
                sqlite3.connect(data_dir / "herald.db", timeout=1) as db,
            ):
                stored = db.execute("SELECT count(*) FROM events").fetchone()[0]
            if stored:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the ingest finished before it could be killed"
        proc.send_signal(signal.SIGKILL)  # kill -9, part-way through the file
    finally:
        proc.wait(10)
    with sqlite3.connect(data_dir / "herald.db") as db:
        [(file_id, status)] = db.execute("SELECT id, status FROM ingest_files").fetchall()
        before = db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert status == "ingesting" and 0 < before < entries

    too_soon = herald(data_dir, "ingest", "--resume", str(file_id))
    assert too_soon.returncode == 2 and "Traceback" not in too_soon.stderr
    assert "is still being read" in too_soon.stderr

    # Two minutes on without progress (the clock moved on): it is interrupted.
    with sqlite3.connect(data_dir / "herald.db") as db:
        db.execute("UPDATE ingest_files SET progress_at = '2026-01-01 00:00:00.000000'")
    listed = herald(data_dir, "ingest", "--resume", str(file_id), "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    [report] = json.loads(listed.stdout)
    assert report["status"] == "done" and report["file_id"] == file_id
    # The events stored before the kill are read again: recognised, not called duplicates.
    assert report["duplicates"] == 0 and report["events_created"] == entries - before
    assert report["already_stored"] == before
    with sqlite3.connect(data_dir / "herald.db") as db:
        total, distinct = db.execute(
            "SELECT count(*), count(DISTINCT source_event_id) FROM events"
        ).fetchone()
        [(status, created)] = db.execute("SELECT status, events_created FROM ingest_files")
    assert status == "done" and total == distinct == created  # every event once
    neither = herald(data_dir, "ingest")
    assert neither.returncode == 2 and "nothing to ingest" in neither.stderr
