"""Login throttling (counted in the real Redis) and logout ending the session server-side."""

from __future__ import annotations

import httpx

from admin_ui.throttle import USER_LIMIT
from herald.app import create_app
from herald.config import Settings
from herald.runtime import Runtime
from tests.api.test_admin_ui import PASSWORD, csrf_of, login, staff

__all__ = ["staff"]


async def _try(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    form = await client.get("/admin/login")
    data = {"username": username, "password": password, "csrf_token": csrf_of(form.text)}
    return await client.post("/admin/login", data=data)


async def test_wrong_passwords_are_throttled_with_a_time_to_wait(
    client: httpx.AsyncClient, staff: None
) -> None:
    codes = [(await _try(client, "alice", "wrong password!")).status_code for _ in range(30)]
    assert codes[:USER_LIMIT] == [401] * USER_LIMIT
    assert set(codes[USER_LIMIT:]) == {429}
    refused = await _try(client, "alice", PASSWORD)  # even the right password waits
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 15 * 60
    assert f"Too many attempts — try again in {wait} s." in refused.text
    assert (await client.get("/admin/customers")).status_code == 303


async def test_a_successful_login_clears_the_username_counter(
    client: httpx.AsyncClient, staff: None
) -> None:
    for _ in range(USER_LIMIT - 1):
        assert (await _try(client, "alice", "wrong password!")).status_code == 401
    assert (await login(client)).status_code == 303
    for _ in range(USER_LIMIT - 1):  # a fresh count: these would pass the limit otherwise
        assert (await _try(client, "alice", "wrong password!")).status_code == 401


async def test_a_cookie_replayed_after_logout_is_sent_to_the_login_form(
    client: httpx.AsyncClient, staff: None
) -> None:
    await login(client)
    page = await client.get("/admin/customers")
    assert page.status_code == 200
    captured = dict(client.cookies)
    done = await client.post("/admin/logout", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    client.cookies.clear()
    client.cookies.update(captured)
    replay = await client.get("/admin/customers")
    assert replay.status_code == 303
    assert replay.headers["location"].startswith("/admin/login")


async def test_the_limits_are_settings(settings: Settings, runtime: Runtime, staff: None) -> None:
    """HERALD_LOGIN_USER_LIMIT=3, HERALD_LOGIN_WINDOW_MINUTES=2: the fourth wrong password
    waits, for at most the two-minute window."""
    tuned = settings.model_copy(update={"login_user_limit": 3, "login_window_minutes": 2})
    transport = httpx.ASGITransport(app=create_app(tuned, runtime))
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
        codes = [(await _try(client, "alice", "wrong password!")).status_code for _ in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        refused = await _try(client, "alice", PASSWORD)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 120
