"""The deployable stack as files (no Docker engine is needed to check them): the image, the
compose file, what the build context leaves out, and the Grafana dashboard's metric names."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram

from channels import metrics
from tests.conftest import REPO

LONG_RUNNING = ("postgres", "redis", "api-1", "api-2", "worker-1", "worker-2", "proxy", "mailpit")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return data


def _command(service: dict[str, Any]) -> str:
    return " ".join(service.get("command", []))


def _health(service: dict[str, Any]) -> str:
    check = service.get("healthcheck", {})
    assert not check.get("disable"), service
    return " ".join(check["test"])


def test_the_image_is_multi_stage_non_root_with_a_healthcheck() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2 and "AS build" in stages[0] and "AS runtime" in stages[-1]
    runtime = lines[lines.index(stages[-1]) :]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") for line in runtime)
    assert any("COPY --from=build" in line for line in runtime)
    # Every package the wheel ships (and the demo's data) is in the build stage.
    wheel = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    copied = {
        line.split()[1] for line in lines if line.startswith("COPY ") and "--from" not in line
    }
    assert set(wheel["targets"]["wheel"]["packages"]) | {"examples"} <= copied


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".env", ".venv", ".herald", "node_modules"} <= ignored


def test_compose_has_the_whole_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(LONG_RUNNING) | {"migrate", "twilio-sim"} <= set(services)
    for name in (*LONG_RUNNING, "twilio-sim"):
        assert services[name]["restart"] == "unless-stopped", name
        assert _health(services[name]), name
    assert "--appendonly yes" in _command(services["redis"])
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    migrate = services["migrate"]
    assert _command(migrate) == "herald migrate" and migrate["restart"] == "no"
    for name in ("api-1", "api-2", "worker-1", "worker-2"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert any(v.endswith(":/var/lib/herald") for v in service["volumes"])
        env = service["environment"]
        assert env["HERALD_DATABASE_URL"].startswith("postgresql://")
        assert env["HERALD_REDIS_URL"] == "redis://redis:6379/0"
        assert env["HERALD_ENVIRONMENT"] == "production"
    for name in ("api-1", "api-2"):
        assert _command(services[name]) == "herald serve"
        assert "/readyz" in _health(services[name])
    for name in ("worker-1", "worker-2"):
        assert _command(services[name]) == "herald worker"
        assert services[name]["environment"]["HERALD_METRICS__WORKER_PORT"] == "9101"
        assert "9101/metrics" in _health(services[name])
    assert "herald simulate" in _command(services["twilio-sim"])
    assert "8025:8025" in services["mailpit"]["ports"]  # the mail catcher's web UI
    assert set(compose["volumes"]) >= {"pgdata", "redisdata", "herald-data"}
    # Only the load balancer and the mail UI are published; the rest talk inside the network.
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"proxy", "mailpit"}


def _sample_names() -> set[str]:
    """Every sample name Herald's metrics can expose (a Counter adds _total, a Histogram its
    _bucket, _count and _sum)."""
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(value._name + "_total")
        elif isinstance(value, Histogram):
            names.update(value._name + suffix for suffix in ("_bucket", "_count", "_sum"))
        elif isinstance(value, Gauge):
            names.add(value._name)
    return names


def test_the_dashboard_charts_metrics_that_exist() -> None:
    dashboard = json.loads((REPO / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bherald_\w+", expr)}
    exposed = _sample_names()
    assert used and used <= exposed, used - exposed
    # Every metric Herald has is on the dashboard, and listed in docs/operations.md.
    families = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in exposed}
    charted = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in used}
    assert families == charted, families ^ charted
    docs = (REPO / "docs" / "operations.md").read_text()
    missing = sorted(f for f in families if f not in docs)
    assert not missing, missing
