"""Herald as a user installs it (a wheel, not an editable checkout): `herald demo` runs from the
installed package, its data shipped inside it, with nothing read from the source tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, missing_infrastructure
from tests.integration.test_cli import port_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def installed() -> Iterator[Path]:
    """A fresh virtualenv holding Herald's wheel; its dependencies come from this one's
    site-packages (a plain path entry: this environment's editable finder is not loaded)."""
    base = Path(tempfile.mkdtemp(prefix="hwheel-", dir="/tmp"))  # short: a data dir's socket
    try:
        import hatchling  # noqa: F401  (the build backend, offline)
    except ImportError:
        missing_infrastructure("hatchling is not installed (make dev installs it)")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(base / "dist")]
    subprocess.run([*build, str(REPO)], check=True, timeout=300, cwd=base)
    [wheel] = (base / "dist").glob("herald-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(base / "venv")], check=True)
    python = base / "venv" / "bin" / "python"
    install = [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(install, check=True, timeout=300, cwd=base)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "herald-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    yield base / "venv" / "bin"
    shutil.rmtree(base, ignore_errors=True)


def test_the_package_comes_from_the_wheel(installed: Path) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "import herald.demo as d; print(d.__file__, d.EXAMPLES)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(installed.parent), where
    assert not Path(where[0]).is_relative_to(REPO)
    assert Path(where[1]) == Path(where[0]).parent / "examples"
    assert (Path(where[1]) / "scenario-demo.yaml").is_file()


def test_herald_demo_runs_from_a_wheel(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env.update(HERALD_DATA_DIR=str(tmp_path / "d"), HERALD_LOG_LEVEL="WARNING", **port_env())
    done = subprocess.run(
        [str(installed / "herald"), "demo", "--no-serve", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # not the checkout: nothing may be found through the working directory
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    # The same demo as from the checkout (tests/integration/test_cli.py): its data was found.
    assert summary["events"] == 16, summary
    assert summary["decisions"] == {"alert": 14, "skip": 3}
    assert sum(summary["handoffs"].values()) >= 1
