"""Users, roles, personal tokens and the audit log over HTTP: an admin manages users in the
browser, a token acts as its user (the change logs and the audit name them), the shared token
still works (deprecated), sessions expire, the audit page filters and exports CSV."""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import col, select

import alerts.api.deps
from admin_ui.users import create_user
from alerts.models import AlertType, ApiToken, AuditEntry, User
from alerts.tokens import digest
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LogIn = Callable[[str], Awaitable[tuple[httpx.AsyncClient, str]]]


@pytest.fixture
async def log_in(settings: Settings, runtime: Runtime) -> AsyncIterator[LogIn]:
    """A fresh browser-like client logged in as `username` (password PASSWORD), and its CSRF
    token."""
    app = create_app(settings, runtime)
    clients: list[httpx.AsyncClient] = []

    async def go(username: str) -> tuple[httpx.AsyncClient, str]:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.public_url)
        clients.append(c)
        form = await c.get("/admin/login")
        token = _CSRF.search(form.text)
        assert token
        done = await c.post(
            "/admin/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert done.status_code == 303, done.text
        page = await c.get("/admin/tokens")
        token = _CSRF.search(page.text)
        assert token
        return c, token.group(1)

    yield go
    for c in clients:
        await c.aclose()


async def _user(runtime: Runtime, name: str, role: str) -> None:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username=name, password=PASSWORD, role=role)


async def _entries(runtime: Runtime) -> list[AuditEntry]:
    async with runtime.deps.sessions() as session:
        return list((await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all())


async def test_an_admin_manages_users_and_every_change_is_audited(
    runtime: Runtime, log_in: LogIn
) -> None:
    await _user(runtime, "root", "admin")
    admin, csrf = await log_in("root")
    short = await admin.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "erin", "password": "short", "role": "editor"},
    )
    assert short.status_code == 400 and "too short" in short.text
    made = await admin.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "Erin", "password": PASSWORD, "role": "editor"},
    )
    assert made.status_code == 303 and made.headers["location"] == "/admin/users?done=created"
    listing = await admin.get("/admin/users?done=created")
    assert "The user was created" in listing.text and "erin" in listing.text
    async with runtime.deps.sessions() as session:
        erin = (await session.exec(select(User).where(User.username == "erin"))).one()
    assert erin.role == "editor"

    erin_client, _ = await log_in("erin")
    assert (await erin_client.get("/admin/customers")).status_code == 200
    assert (await erin_client.get("/admin/users")).status_code == 403

    moved = await admin.post(
        f"/admin/users/{erin.id}/role", data={"csrf_token": csrf, "role": "publisher"}
    )
    assert moved.status_code == 303
    # A role change ends the user's sessions: they log in again and get the new role.
    again = await erin_client.get("/admin/customers")
    assert again.status_code == 303 and again.headers["location"].startswith("/admin/login")

    reset = await admin.post(f"/admin/users/{erin.id}/password", data={"csrf_token": csrf})
    assert reset.status_code == 200
    shown = re.search(r'<code class="secret"[^>]*>([^<]+)</code>', reset.text)
    assert shown and len(shown.group(1)) >= 10
    assert shown.group(1) not in (await admin.get("/admin/users")).text  # shown only once

    off = await admin.post(f"/admin/users/{erin.id}/disable", data={"csrf_token": csrf})
    assert off.status_code == 303
    login = await erin_client.get("/admin/login")
    token = _CSRF.search(login.text)
    assert token
    refused = await erin_client.post(
        "/admin/login",
        data={"username": "erin", "password": shown.group(1), "csrf_token": token.group(1)},
    )
    assert refused.status_code == 401  # disabled: the right password does not let them in

    async with runtime.deps.sessions() as session:
        root = (await session.exec(select(User).where(User.username == "root"))).one()
    alone = await admin.post(f"/admin/users/{root.id}/disable", data={"csrf_token": csrf})
    assert alone.status_code == 400 and "only administrator" in alone.text

    changes = [(e.actor, e.kind, e.entity_id, e.action) for e in await _entries(runtime)]
    assert changes == [
        ("root", "user", "erin", "create"),
        ("root", "user", "erin", "change_role"),
        ("root", "user", "erin", "reset_password"),
        ("root", "user", "erin", "disable"),
    ]
    entries = await _entries(runtime)
    assert entries[1].before == {"role": "editor"} and entries[1].after == {"role": "publisher"}
    assert entries[0].via == "session" and entries[0].ip  # from where
    assert all(PASSWORD not in str(e.after) for e in entries)


async def test_a_personal_token_acts_as_its_user(
    settings: Settings, runtime: Runtime, log_in: LogIn
) -> None:
    await _user(runtime, "pat", "publisher")
    await _user(runtime, "ed", "editor")
    pat, csrf = await log_in("pat")
    made = await pat.post("/admin/tokens", data={"csrf_token": csrf, "name": "  CRM   sync "})
    assert made.status_code == 200
    shown = re.search(r'<code class="secret" id="new-token"[^>]*>([^<]+)</code>', made.text)
    assert shown
    secret = shown.group(1)
    assert secret.startswith("hrd_") and len(secret) > 40
    async with runtime.deps.sessions() as session:
        [row] = (await session.exec(select(ApiToken))).all()
    assert row.token_sha256 == digest(secret) and secret not in row.token_sha256
    assert row.name == "CRM sync" and row.last_used_at is None
    page = await pat.get("/admin/tokens")
    assert secret not in page.text and row.prefix in page.text and "never" in page.text

    transport = httpx.ASGITransport(app=create_app(settings, runtime))
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as api:
        auth = {"Authorization": f"Bearer {secret}", "X-Herald-Actor": "someone else"}
        off = await api.patch(
            "/api/v1/alert-types/payment_received", json={"enabled": False}, headers=auth
        )
        assert off.status_code == 200, off.text
        async with runtime.deps.sessions() as session:
            stored = (
                await session.exec(select(AlertType).where(AlertType.key == "payment_received"))
            ).one()
        assert stored.updated_by == "pat"  # the change log names the user, not the header
        [entry] = [e for e in await _entries(runtime) if e.kind == "alert_type"]
        assert (entry.actor, entry.role, entry.via, entry.action) == (
            "pat",
            "publisher",
            "token: CRM sync",
            "disable",
        )
        assert entry.before is not None and entry.before["enabled"] is True
        assert entry.after is not None and entry.after["enabled"] is False
        assert "last used" in (await pat.get("/admin/tokens")).text.lower()
        async with runtime.deps.sessions() as session:
            assert (await session.get(ApiToken, row.id)) is not None
            used = await session.get(ApiToken, row.id)
            assert used is not None and used.last_used_at is not None

        ed, ed_csrf = await log_in("ed")
        ed_made = await ed.post("/admin/tokens", data={"csrf_token": ed_csrf, "name": "laptop"})
        ed_secret = re.search(r'id="new-token"[^>]*>([^<]+)<', ed_made.text)
        assert ed_secret
        ed_auth = {"Authorization": f"Bearer {ed_secret.group(1)}"}
        assert (await api.get("/api/v1/alert-types", headers=ed_auth)).status_code == 200
        refused = await api.patch(
            "/api/v1/alert-types/payment_received", json={"enabled": True}, headers=ed_auth
        )
        assert refused.status_code == 403
        assert "publish" in refused.json()["error"]["message"]
        # Revoking someone else's token is refused; one's own works and takes effect at once.
        async with runtime.deps.sessions() as session:
            ed_row = (await session.exec(select(ApiToken).where(ApiToken.name == "laptop"))).one()
        other = await pat.post(f"/admin/tokens/{ed_row.id}/revoke", data={"csrf_token": csrf})
        assert other.status_code == 404
        mine = await ed.post(f"/admin/tokens/{ed_row.id}/revoke", data={"csrf_token": ed_csrf})
        assert mine.status_code == 303
        assert (await api.get("/api/v1/alert-types", headers=ed_auth)).status_code == 401
        assert "revoked" in (await ed.get("/admin/tokens")).text
    kinds = [(e.actor, e.kind, e.action) for e in await _entries(runtime)]
    assert ("pat", "api_token", "create") in kinds and ("ed", "api_token", "revoke") in kinds


async def test_the_shared_token_is_deprecated_but_works_while_configured(
    settings: Settings, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    alerts.api.deps._warned_shared.clear()
    shared = {"Authorization": f"Bearer {settings.api_token.get_secret_value()}"}
    transport = httpx.ASGITransport(app=create_app(settings, runtime))
    with caplog.at_level(logging.WARNING, logger="alerts.api.deps"):
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as api:
            hours = {"timezone": "Europe/Amsterdam", "weekly": {"mon": ["09:00-17:00"]}}
            for _ in range(2):
                ok = await api.put("/api/v1/callcentre/hours", json=hours, headers=shared)
                assert ok.status_code == 200, ok.text
    warnings = [r for r in caplog.records if "deprecated" in r.getMessage()]
    assert len(warnings) == 1  # once per process
    [entry] = [e for e in await _entries(runtime) if e.kind == "call_centre_hours"]
    assert (entry.actor, entry.role, entry.via) == ("shared-token", "admin", "shared token")

    off = settings.model_copy(update={"api_token": type(settings.api_token)("")})
    transport = httpx.ASGITransport(app=create_app(off, runtime))
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as api:
        refused = await api.get("/api/v1/alert-types", headers={"Authorization": "Bearer "})
        assert refused.status_code == 401
        refused = await api.get(
            "/api/v1/alert-types", headers={"Authorization": "Bearer dev-api-token"}
        )
        assert refused.status_code == 401


async def test_an_idle_session_expires_with_a_message(
    runtime: Runtime, log_in: LogIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _user(runtime, "vic", "viewer")
    client, _ = await log_in("vic")
    assert (await client.get("/admin/customers")).status_code == 200
    later = time.time() + 31 * 60  # the default is 30 minutes
    monkeypatch.setattr(time, "time", lambda: later)  # the module admin_ui.security reads
    gone = await client.get("/admin/customers")
    assert gone.status_code == 303
    assert gone.headers["location"].endswith("&expired=1")
    login = await client.get(gone.headers["location"])
    assert "Your session ended after 30 minutes without activity" in login.text


async def test_the_audit_page_filters_and_exports_csv(runtime: Runtime, log_in: LogIn) -> None:
    await _user(runtime, "root", "admin")
    admin, csrf = await log_in("root")
    for name in ("amy", "bob"):
        await admin.post(
            "/admin/users",
            data={"csrf_token": csrf, "username": name, "password": PASSWORD, "role": "viewer"},
        )
    await admin.post("/admin/tokens", data={"csrf_token": csrf, "name": "=cmd|' /C calc'!A0"})
    page = await admin.get("/admin/audit")
    assert page.status_code == 200 and "amy" in page.text and "api token" in page.text
    only_tokens = await admin.get("/admin/audit?kind=api_token")
    assert "amy" not in only_tokens.text and "=cmd" in only_tokens.text
    nobody = await admin.get("/admin/audit?who=somebody")
    assert "No changes match these filters" in nobody.text
    future = await admin.get("/admin/audit?since=2999-01-01")
    assert "No changes match" in future.text
    today = await admin.get(f"/admin/audit?since=2000-01-01&until={time.strftime('%Y-%m-%d')}")
    assert "amy" in today.text or "bob" in today.text
    bad = await admin.get("/admin/audit?since=yesterday")
    assert bad.status_code == 400 and "is not a date" in bad.text

    export = await admin.get("/admin/audit.csv?kind=user")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["actor"], r["entity_id"], r["action"]) for r in rows] == [
        ("root", "bob", "create"),
        ("root", "amy", "create"),
    ]
    assert rows[0]["after"] == '{"role": "viewer"}'
    tokens_csv = (await admin.get("/admin/audit.csv?kind=api_token")).text
    assert all(not line.startswith("=") for line in tokens_csv.splitlines())
    viewer, _ = await log_in("amy")
    assert (await viewer.get("/admin/audit")).status_code == 403
    assert (await viewer.get("/admin/audit.csv")).status_code == 403


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # the trigger is PG's
async def test_postgres_refuses_to_change_or_delete_audit_entries(
    runtime: Runtime, settings: Settings
) -> None:
    assert (settings.database_url or "").startswith("postgresql")
    await _user(runtime, "root", "admin")
    from alerts import audit

    async with runtime.deps.sessions() as session:
        audit.record(
            session,
            kind="user",
            entity_id="root",
            action="test",
            origin=audit.Origin(actor="tester"),
        )
        await session.commit()
    for statement in ("UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries"):
        async with runtime.deps.sessions() as session:
            with pytest.raises(Exception, match="append-only"):
                await session.exec(text(statement))  # type: ignore[call-overload]
                await session.commit()
    assert len(await _entries(runtime)) == 1
