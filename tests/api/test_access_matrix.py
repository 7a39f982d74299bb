"""Who may do what, over every registered route: each role against each admin page, form post and
JSON API route, as alerts.access.PERMISSIONS says; anonymous callers sent to the login form
(pages) or refused with 401 (API); every admin form refused without its CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from admin_ui.users import create_user
from alerts.access import PERMISSIONS, PUBLIC_ROUTES, ROLES
from alerts.models import User
from alerts.tokens import create_token
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime

PASSWORD = "correct horse battery"
MISSING = "999999"  # every path parameter names nothing, so allowed calls change nothing
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Rule:
    method: str
    path: str
    capabilities: frozenset[str]

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", MISSING, self.path)


def _capabilities(dependant: Any) -> set[str]:
    found: set[str] = set()
    for sub in dependant.dependencies:
        capability = getattr(sub.call, "capability", None)
        if capability:
            found.add(capability)
        found |= _capabilities(sub)
    return found


def route_rules(app: FastAPI) -> list[Rule]:
    """Every (method, path) the app serves, with the capabilities its dependencies require."""
    rules = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        capabilities = frozenset(_capabilities(dependant)) if dependant is not None else frozenset()
        for method in sorted((route.methods or set()) - {"HEAD"}):
            assert route.path is not None
            rules.append(Rule(method, route.path, capabilities))
    return rules


def _app() -> FastAPI:
    return create_app(Settings(_env_file=None, api_token="t" * 20, secret_key="s" * 20))


def test_every_route_has_a_rule_or_is_listed_as_public() -> None:
    rules = route_rules(_app())
    assert len(rules) > 60
    missing = [
        f"{r.method} {r.path}" for r in rules if not r.capabilities and r.path not in PUBLIC_ROUTES
    ]
    assert missing == [], (
        "these routes need require(...) / require_page(...) or a line in "
        f"alerts.access.PUBLIC_ROUTES: {missing}"
    )
    public_with_rules = [r.path for r in rules if r.capabilities and r.path in PUBLIC_ROUTES]
    assert public_with_rules == []
    assert set(PUBLIC_ROUTES) <= {r.path for r in rules}, "a public route that no longer exists"
    # Customers' pages and provider webhooks stay public: their links and requests are signed.
    for path in ("/p/{token}", "/u/{token}", "/c/{token}", "/r/{token}", "/r/f/{token}"):
        assert path in PUBLIC_ROUTES
    assert any(p.startswith("/webhooks/") for p in PUBLIC_ROUTES)


def test_the_audit_log_cannot_be_changed_through_the_app() -> None:
    audit_routes = [r for r in route_rules(_app()) if "audit" in r.path]
    assert {r.path for r in audit_routes} == {"/admin/audit", "/admin/audit.csv"}
    assert {r.method for r in audit_routes} == {"GET"}  # no PUT, PATCH, DELETE (nor POST)


def test_every_role_has_view_and_only_admins_manage_users() -> None:
    assert set(ROLES) >= {"admin", "editor", "publisher", "supervisor", "agent", "viewer"}
    assert all("view" in caps for caps in PERMISSIONS.values())
    assert [r for r, caps in PERMISSIONS.items() if "manage_users" in caps] == ["admin"]
    assert "edit_drafts" in PERMISSIONS["editor"] and "publish" not in PERMISSIONS["editor"]
    assert {"publish", "edit_drafts"} <= PERMISSIONS["publisher"]
    assert PERMISSIONS["viewer"] == {"view", "own_tokens", "reports"}
    assert [r for r, caps in PERMISSIONS.items() if "reports" not in caps] == ["agent"]


@dataclass
class Staff:
    app: FastAPI
    tokens: dict[str, str]
    settings: Settings


@pytest.fixture
async def staff(settings: Settings, runtime: Runtime) -> Staff:
    tokens = {}
    async with runtime.deps.sessions() as session:
        for role in ROLES:
            user = await create_user(
                session=session, username=f"{role}-user", password=PASSWORD, role=role
            )
            _, tokens[role] = await create_token(session=session, user=user, name=f"{role} token")
    return Staff(app=create_app(settings, runtime), tokens=tokens, settings=settings)


@pytest.fixture
async def browser_for(staff: Staff) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    async def log_in(role: str | None) -> tuple[httpx.AsyncClient, str]:
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=staff.app), base_url=staff.settings.public_url
        )
        clients.append(c)
        form = await c.get("/admin/login")
        match = _CSRF.search(form.text)
        assert match
        if role is None:
            return c, match.group(1)
        done = await c.post(
            "/admin/login",
            data={"username": f"{role}-user", "password": PASSWORD, "csrf_token": match.group(1)},
        )
        assert done.status_code == 303, done.text
        page = await c.get("/admin/tokens")
        match = _CSRF.search(page.text)
        assert match
        return c, match.group(1)

    yield log_in
    for c in clients:
        await c.aclose()


def _ordered(rules: list[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: r.path == "/admin/logout")  # logging out comes last


@pytest.mark.parametrize("role", [None, *ROLES], ids=lambda r: r or "anonymous")
async def test_role_by_route_matrix(staff: Staff, browser_for: Any, role: str | None) -> None:
    """One role against every route (a test per role, so the matrix runs in parallel)."""
    rules = [r for r in route_rules(staff.app) if r.path not in PUBLIC_ROUTES]
    seen: list[str] = []
    page_client, csrf = await browser_for(role)
    api_headers = {"Authorization": f"Bearer {staff.tokens[role]}"} if role else {}
    for rule in _ordered(rules):
        if rule.api:
            response = await page_client.request(rule.method, rule.url, headers=api_headers)
        else:
            data = {"csrf_token": csrf} if rule.method != "GET" else None
            response = await page_client.request(rule.method, rule.url, data=data)
        where = f"{role or 'anonymous'}: {rule.method} {rule.path} -> {response.status_code}"
        seen.append(where)
        if role is None:
            if rule.api:
                assert response.status_code == 401, where
            else:
                assert response.status_code == 303, where
                assert response.headers["location"].startswith("/admin/login?next="), where
            continue
        may = rule.capabilities <= PERMISSIONS[role]
        if not may:
            assert response.status_code == 403, where
            if not rule.api:
                assert "Your role does not allow this" in response.text, where
            continue
        assert response.status_code not in (401, 403) and response.status_code < 500, (
            where,
            response.text[:300],
        )
        if not rule.api and response.status_code == 303 and rule.path != "/admin/logout":
            assert not response.headers["location"].startswith("/admin/login"), where
    assert len(seen) == len(rules)


async def test_every_admin_form_is_refused_without_its_csrf_token(
    staff: Staff, browser_for: Any
) -> None:
    forms = [
        r
        for r in route_rules(staff.app)
        if not r.api and r.method != "GET" and r.path not in PUBLIC_ROUTES
    ]
    assert {"/admin/users", "/admin/tokens", "/admin/logout"} <= {r.path for r in forms}
    client, _ = await browser_for("admin")
    for rule in forms:
        for data in ({}, {"csrf_token": "not-the-token"}):
            refused = await client.post(rule.url, data=data)
            assert refused.status_code == 403, (rule.path, data)
            assert "This form could not be accepted" in refused.text, rule.path
    assert (await client.get("/admin/users")).status_code == 200  # still logged in
    # The login form (public) checks its token too.
    anonymous, _ = await browser_for(None)
    refused = await anonymous.post("/admin/login", data={"username": "admin-user"})
    assert refused.status_code == 403


async def test_a_disabled_users_token_and_session_stop_working(
    staff: Staff, browser_for: Any, runtime: Runtime
) -> None:
    client, _ = await browser_for("viewer")
    api = {"Authorization": f"Bearer {staff.tokens['viewer']}"}
    assert (await client.get("/api/v1/alert-types", headers=api)).status_code == 200
    async with runtime.deps.sessions() as session:
        from sqlmodel import select

        user = (await session.exec(select(User).where(User.username == "viewer-user"))).one()
        user.disabled = True
        user.auth_version += 1
        session.add(user)
        await session.commit()
    assert (await client.get("/api/v1/alert-types", headers=api)).status_code == 401
    page = await client.get("/admin/customers")
    assert page.status_code == 303 and page.headers["location"].startswith("/admin/login")
