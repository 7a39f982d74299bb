"""The studio's pages over HTTP: the list, the editor's draft and its inline problems, the SMS
counter, CSRF and roles, preview, trial, publishing (and the four-eyes rule), versions."""

from __future__ import annotations

import re
from typing import Any

import httpx

from admin_ui.users import create_user
from herald.config import Settings
from herald.runtime import Runtime
from tests.api.test_admin_ui import csrf_of

PASSWORD = "correct horse battery"
EDITOR = "/admin/alert-types/large_debit"


async def _login(client: httpx.AsyncClient, runtime: Runtime, name: str, role: str) -> str:
    async with runtime.deps.sessions() as session:
        await create_user(session=session, username=name, password=PASSWORD, role=role)
    form = await client.get("/admin/login")
    data = {"username": name, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    assert (await client.post("/admin/login", data=data)).status_code == 303
    return csrf_of((await client.get("/admin/alert-types")).text)


def _form(html: str) -> dict[str, Any]:
    """The editor's fields as the browser would send them (textareas and inputs)."""
    data: dict[str, Any] = {}
    for name, value in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S
    ):
        data[name] = value.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
    for name in ("name", "description", "condition"):
        found = re.search(rf'name="{name}" value="([^"]*)"', html)
        data[name] = (found.group(1) if found else "").replace("&#34;", '"').replace("&gt;", ">")
    data["event_types"] = ["debit_posted"]
    data["csrf_token"] = csrf_of(html)
    return data


async def test_edit_preview_trial_and_publish_a_dutch_sms(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    csrf = await _login(client, runtime, "ann", "admin")
    listing = await client.get("/admin/alert-types")
    assert listing.status_code == 200 and "Large debit" in listing.text
    assert "script-src 'self'" in listing.headers["content-security-policy"]
    page = await client.get(EDITOR)
    assert page.status_code == 200 and "Published version" in page.text

    refused = await client.post(f"{EDITOR}/draft", data={"name": "x"})
    assert refused.status_code == 403  # no CSRF token

    data = _form(page.text)
    data["action"], data["add_locale"] = "add_language", "nl"
    assert (await client.post(f"{EDITOR}/draft", data=data)).status_code == 303
    page = await client.get(EDITOR)
    assert "Dutch (nl)" in page.text and "You are looking at a <strong>draft</strong>" in page.text
    assert "Dutch has no" not in page.text  # copied from English: SMS, call and email

    data = _form(page.text)
    data["content.nl.sms.body"] = "{{ brand }}: betaling {{ amount }} {{ onbekend }}"
    data["condition"] = "event.amount >= 500 and customer.segmnt != 'x'"
    assert (await client.post(f"{EDITOR}/draft", data=data)).status_code == 303
    page = await client.get(EDITOR)
    assert "onbekend&#39; is undefined" in page.text and "did you mean" in page.text
    assert 'aria-invalid="true"' in page.text
    assert re.search(r"<button type=\"submit\" disabled>Publish</button>", page.text)

    data = _form(page.text)
    data["content.nl.sms.body"] = "{{ brand }}: betaling van {{ amount }} {{ currency }} herkend?"
    data["condition"] = "event.amount >= 500"
    await client.post(f"{EDITOR}/draft", data=data)

    count = await client.post(f"{EDITOR}/sms-length", data={"csrf_token": csrf, "text": "Hé ✓"})
    assert count.json()["encoding"] == "UCS-2" and "“✓”" in count.json()["cost_note"]

    preview = await client.get(f"{EDITOR}/preview?locale=nl")
    assert "betaling van 750.00 EUR herkend?" in preview.text
    assert "Text-to-speech" in preview.text
    email = await client.get(f"{EDITOR}/preview/email?locale=nl")
    assert (
        email.status_code == 200
        and "frame-ancestors 'self'" in email.headers["content-security-policy"]
    )
    trial = await client.get(f"{EDITOR}/trial")
    assert trial.status_code == 200 and "0 of 0 events" in trial.text

    settings.four_eyes = True
    page = await client.get(EDITOR)
    done = await client.post(f"{EDITOR}/publish", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    assert "someone else must publish" in (await client.get(EDITOR)).text
    settings.four_eyes = False
    await client.post(f"{EDITOR}/publish", data={"csrf_token": csrf, "note": "Dutch SMS"})
    page = await client.get(EDITOR)
    assert "Published version 2" in page.text or "Published version" in page.text
    versions = await client.get(f"{EDITOR}/versions")
    assert "content.nl.sms.body" in versions.text and "Dutch SMS" in versions.text


async def test_a_viewer_may_look_but_not_edit(client: httpx.AsyncClient, runtime: Runtime) -> None:
    csrf = await _login(client, runtime, "vic", "agent")
    assert (await client.get(EDITOR)).status_code == 200
    refused = await client.post(f"{EDITOR}/draft", data={"csrf_token": csrf})
    assert refused.status_code == 403 and "edit drafts" in refused.text
    new = await client.get("/admin/alert-types/new")
    assert new.status_code == 403


async def test_the_editor_chooses_batch_bookings_or_their_transactions(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _login(client, runtime, "bea", "editor")
    page = await client.get(EDITOR)
    assert re.search(r'<option value="entries" selected>Alert once per booking', page.text)

    data = _form(page.text)
    data["batches"] = "transactions"
    assert (await client.post(f"{EDITOR}/draft", data=data)).status_code == 303
    page = await client.get(EDITOR)
    assert '<option value="transactions" selected>' in page.text

    data = _form(page.text)
    data["batches"] = "payments"
    await client.post(f"{EDITOR}/draft", data=data)
    page = await client.get(EDITOR)
    assert "Batch bookings" in page.text and "&#39;entries&#39;" in page.text


def _options_form(html: str) -> dict[str, Any]:
    """The editor's fields plus its response option rows, in page order."""
    data = _form(html)
    for name in ("opt_key", "opt_intent", "opt_label", "opt_endpoint", "opt_label_nl"):
        if name == "opt_intent":
            values = re.findall(
                r'<select[^>]*name="opt_intent"[^>]*>.*?<option value="([^"]+)" selected',
                html,
                re.S,
            )
        else:
            values = re.findall(rf'name="{name}" value="([^"]*)"', html)
        if values:
            data[name] = [v.replace("&#39;", "'").replace("&amp;", "&") for v in values]
    return data


async def _keys(client: httpx.AsyncClient) -> list[str]:
    return re.findall(r'name="opt_key" value="([^"]*)"', (await client.get(EDITOR)).text)


async def test_response_options_move_translate_and_refuse_a_duplicate_key(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _login(client, runtime, "olga", "editor")
    assert await _keys(client) == ["1", "2", "9"]

    data = _options_form((await client.get(EDITOR)).text)
    data["action"] = "opt_down:0"
    moved = await client.post(f"{EDITOR}/draft", data=data)
    assert moved.status_code == 303 and moved.headers["location"].endswith("#options")
    assert await _keys(client) == ["2", "1", "9"]

    page = await client.get(EDITOR)
    data = _options_form(page.text)
    data["action"], data["add_locale"] = "add_language", "nl"
    await client.post(f"{EDITOR}/draft", data=data)
    data = _options_form((await client.get(EDITOR)).text)
    # The seeded Dutch labels, in the options' new order.
    assert data["opt_label_nl"] == [
        "Deze betaling was van mij",
        "Een medewerker spreken",
        "Dit bericht opnieuw horen",
    ]
    data["opt_label_nl"] = ["Deze betaling was van mij", "Spreek een medewerker", ""]
    data["action"] = "save"
    await client.post(f"{EDITOR}/draft", data=data)
    data = _options_form((await client.get(EDITOR)).text)
    assert data["opt_label_nl"] == ["Deze betaling was van mij", "Spreek een medewerker", ""]

    data["opt_key"] = ["2", "1", "1"]
    data["action"] = "save"
    await client.post(f"{EDITOR}/draft", data=data)
    page = await client.get(EDITOR)
    assert "Key 1 is already option 2: each option needs its own key." in page.text
    assert re.search(r'id="opt-2-key"[^>]*aria-invalid="true"', page.text)

    data = _options_form(page.text)
    data["opt_key"] = ["2", "1", "#"]
    await client.post(f"{EDITOR}/draft", data=data)
    assert "Key #: # ends the keypad input on a call" in (await client.get(EDITOR)).text

    data = _options_form((await client.get(EDITOR)).text)
    data["opt_key"], data["action"] = ["2", "1", "9"], "opt_remove:2"
    await client.post(f"{EDITOR}/draft", data=data)
    data = _options_form((await client.get(EDITOR)).text)
    data["action"] = "opt_add"
    await client.post(f"{EDITOR}/draft", data=data)
    assert await _keys(client) == ["2", "1", "3"]


def _policy_form(html: str) -> dict[str, Any]:
    """The editor's fields with the delivery policy as the page shows it."""
    data = _options_form(html)
    data["ch_order"] = re.findall(r'name="ch_order" value="([^"]+)"', html)
    for name, value in re.findall(
        r'<input type="checkbox" name="(ch_[^"]+)" value="([^"]+)" checked', html
    ):
        data.setdefault(name, []).append(value)
    for name, value in re.findall(r'type="number" id="[^"]+" name="([^"]+)" value="([^"]*)"', html):
        data[name] = value
    for name in ("category", "when_closed", "when_overloaded"):
        found = re.search(rf'name="{name}">.*?<option value="([^"]+)" selected', html, re.S)
        assert found, name
        data[name] = found.group(1)
    return data


async def _saved_spec(runtime: Runtime) -> dict[str, Any]:
    from alerts.alert_types.drafts import get_draft

    async with runtime.deps.sessions() as session:
        draft = await get_draft(session, "large_debit")
    assert draft is not None
    return dict(draft.spec)


async def test_the_delivery_policy_is_edited_in_words(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _login(client, runtime, "petra", "editor")
    page = await client.get(EDITOR)
    data = _policy_form(page.text)
    assert data["ch_order"] == ["voice", "sms", "email"] and data["ch_use_email"] == ["yes"]

    data["action"] = "ch_up:sms"
    moved = await client.post(f"{EDITOR}/draft", data=data)
    assert moved.headers["location"].endswith("#delivery")
    spec = await _saved_spec(runtime)
    assert spec["delivery"]["channel_order"] == ["sms", "voice", "email"]

    data = _policy_form((await client.get(EDITOR)).text)
    assert data["ch_order"] == ["sms", "voice", "email"]
    del data["ch_use_email"]  # no email for this alert
    data.update(ch_voice_attempts="3", ch_voice_interval="20", ttl_hours="12", dedupe_hours="2")
    data["ch_voice_retry_on"] = ["no_answer", "busy"]
    data["ch_voice_fallback_on"] = ["no_answer"]
    data.update(priority="80", when_closed="callback_instead", action="save")
    await client.post(f"{EDITOR}/draft", data=data)
    spec = await _saved_spec(runtime)
    assert spec["delivery"]["channel_order"] == ["sms", "voice"]
    voice = spec["delivery"]["channels"]["voice"]
    assert (voice["attempts"], voice["interval_seconds"]) == (3, 1200)
    assert (voice["retry_on"], voice["fallback_on"]) == (["no_answer", "busy"], ["no_answer"])
    assert (spec["ttl_seconds"], spec["dedupe"]["window_seconds"]) == (43200, 7200)
    assert (spec["priority"], spec["centre"]["when_closed"]) == (80, "callback_instead")
    page = await client.get(EDITOR)
    assert 'name="ch_voice_interval" value="20"' in page.text and 'value="12"' in page.text

    data = _policy_form(page.text)
    data.update(ch_voice_attempts="0", action="save")
    await client.post(f"{EDITOR}/draft", data=data)
    page = await client.get(EDITOR)
    assert re.search(
        r'name="ch_voice_attempts" value="0" min="1" max="10" aria-describedby', page.text
    )
    assert "greater than or equal to 1" in page.text
