"""The customer's preferences page over HTTP: the form as a browser would submit it, what is
stored and recorded, the CSRF value, mandatory alert types, and friendly bad-link pages."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest
from pydantic import JsonValue
from sqlmodel import col, select

from alerts.customers.preferences import PreferenceIn, load_preferences
from alerts.customers.records import find_customer
from alerts.links import LinkSigner
from alerts.models import Preference, PreferenceChange
from herald.config import Settings
from herald.runtime import Runtime
from tests.factories import api_headers, make_customer, make_event

ACTOR = "customer (preferences page)"


class Form(HTMLParser):
    """The fields a browser would submit from the page's form (disabled ones left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.disabled: set[tuple[str, str]] = set()
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name:
            if "disabled" in a:
                self.disabled.add((name, a.get("value", "")))
                return
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [self._options[0][0]]
            self.fields.append((self._select, chosen[0]))
            self._select = None


def form_of(html: str) -> Form:
    parser = Form()
    parser.feed(html)
    return parser


def with_values(fields: list[tuple[str, str]], **changes: str | list[str]) -> list[tuple[str, str]]:
    """``fields`` with each named field replaced (a list: several values, [] : none)."""
    names = {k.replace("__", "."): v for k, v in changes.items()}
    out = [(k, v) for k, v in fields if k not in names]
    for name, value in names.items():
        out.extend((name, v) for v in ([value] if isinstance(value, str) else value))
    return out


def dict_list(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form fields as httpx sends them (a name may repeat)."""
    out: dict[str, list[str]] = {}
    for name, value in fields:
        out.setdefault(name, []).append(value)
    return out


@pytest.fixture
async def link(runtime: Runtime) -> str:
    customer = await make_customer(
        runtime.deps,
        ref="C-9",
        name="Ada King Lovelace",
        phone="+447700904567",
        email="ada@example.com",
        order=("voice", "sms", "email"),
        account="GB29NWBK60161331926819",
    )
    assert customer.id is not None
    # Events booked on their account: large_debit and low_balance apply to them.
    for number, kind in enumerate(("debit_posted", "balance_closing_booked")):
        await make_event(
            runtime.deps, account="GB29NWBK60161331926819", event_id=f"E-{number}", event_type=kind
        )
    return f"/p/{runtime.deps.links.sign_preferences(customer.id)}"


async def changes(runtime: Runtime) -> list[PreferenceChange]:
    async with runtime.deps.sessions() as session:
        return list(
            (await session.exec(select(PreferenceChange).order_by(col(PreferenceChange.id)))).all()
        )


async def preferences(runtime: Runtime) -> dict[str, dict[str, JsonValue]]:
    async with runtime.deps.sessions() as session:
        return {p.alert_type: p.data for p in (await session.exec(select(Preference))).all()}


async def test_the_page_shows_first_name_masked_contacts_and_the_alert_types_that_apply(
    client: httpx.AsyncClient, link: str
) -> None:
    page = await client.get(link)
    assert page.status_code == 200
    html = page.text
    assert "Hello Ada." in html and "Lovelace" not in html
    assert "***4567" in html and "a***@example.com" in html
    assert "+447700904567" not in html and "ada@example.com" not in html
    assert html.index("All alerts") < html.index("Large debit") < html.index("Low balance")
    assert "Shipment delayed" not in html and "Savings offer" not in html  # not theirs
    assert "We always send these alerts because they protect you and your money" in html
    form = form_of(html)
    assert not [f for f in form.fields if f[0] == "large_debit.receive"]  # explained, no switch
    assert ("low_balance.receive", "yes") in form.fields
    names = {name for name, _ in form.fields}
    assert {"*.order1", "*.quiet_mode", "*.quiet_from", "*.language", "form_key"} <= names
    # Plain HTML: no scripts, nothing loaded from elsewhere, not framed, token not leaked.
    assert "<script" not in html and "src=" not in html and "http" not in html.split("<body>")[1]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"


async def test_changing_quiet_hours_is_saved_recorded_and_confirmed(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, link: str
) -> None:
    form = form_of((await client.get(link)).text)
    sent = with_values(
        form.fields,
        **{"*.quiet_mode": "custom", "*.quiet_from": "22:00", "*.quiet_to": "06:30"},
        **{"*.quiet_channels": ["voice", "sms"]},
    )
    response = await client.post(link, data=dict_list(sent))
    assert response.status_code == 200, response.text
    assert "Your changes are saved" in response.text
    assert "Quiet hours from 10:00 PM to 6:30 AM (UTC time): no phone calls and text messages." in (
        response.text
    )
    [change] = await changes(runtime)
    assert (change.actor, change.alert_type, change.before) == (ACTOR, "*", {})
    assert change.after["quiet_hours"] == [{"window": "22:00-06:30", "channels": ["voice", "sms"]}]
    # The imported channel order the customer saw is kept, not silently dropped.
    after = PreferenceIn.model_validate(change.after)
    assert [c.channel for c in after.channels or []] == ["voice", "sms", "email"]
    stored = await preferences(runtime)
    assert set(stored) == {"*"}  # the untouched alert types still inherit

    async with runtime.deps.sessions() as session:
        customer = await find_customer(session=session, external_ref="C-9")
        assert customer is not None
        prefs = await load_preferences(session, customer)
    assert (prefs.default.quiet_hours or ())[0].window.describe() == "22:00-06:30"

    # The customer's history shows who changed what.
    api = await client.get("/api/v1/customers/C-9/history", headers=api_headers(settings))
    history = api.json()
    [entry] = history["preference_changes"]
    assert entry["actor"] == ACTOR and "quiet_hours: inherited → 22:00-06:30" in entry["summary"]

    # The page now shows the saved quiet hours; sending it back unchanged changes nothing.
    again = form_of(response.text)
    assert ("*.quiet_from", "10:00 PM") in again.fields
    unchanged = await client.post(link, data=dict_list(again.fields))
    assert "Nothing was changed" in unchanged.text
    assert len(await changes(runtime)) == 1


async def test_opting_out_of_a_type_and_resetting_it(
    client: httpx.AsyncClient, runtime: Runtime, link: str
) -> None:
    form = form_of((await client.get(link)).text)
    sent = with_values(form.fields, **{"low_balance.receive": "no"})
    response = await client.post(link, data=dict_list(sent))
    assert "You will no longer get these alerts." in response.text
    assert await preferences(runtime) == {"low_balance": {"opted_out": True}}

    form = form_of(response.text)
    assert ("low_balance.receive", "no") in form.fields
    reset = with_values(form.fields, **{"low_balance.reset": "yes"})
    response = await client.post(link, data=dict_list(reset))
    assert "Back to your usual settings." in response.text
    assert await preferences(runtime) == {}
    log = [(c.actor, c.alert_type, c.before, c.after) for c in await changes(runtime)]
    assert log == [
        (ACTOR, "low_balance", {}, {"opted_out": True}),
        (ACTOR, "low_balance", {"opted_out": True}, {}),
    ]


async def test_a_mandatory_alert_type_cannot_be_opted_out(
    client: httpx.AsyncClient, runtime: Runtime, link: str
) -> None:
    form = form_of((await client.get(link)).text)
    forged = with_values(form.fields, **{"large_debit.receive": "no", "*.language": "en"})
    response = await client.post(link, data=dict_list(forged))
    assert response.status_code == 400
    assert "“Large debit” alerts are required for your security and cannot be turned off." in (
        response.text
    )
    assert "Nothing was saved yet" in response.text
    assert await changes(runtime) == []  # not even the language, which was fine


async def test_bad_times_are_explained_and_nothing_is_saved(
    client: httpx.AsyncClient, runtime: Runtime, link: str
) -> None:
    form = form_of((await client.get(link)).text)
    sent = with_values(
        form.fields, **{"*.quiet_mode": "custom", "*.quiet_from": "25:00", "*.quiet_to": "07:00"}
    )
    response = await client.post(link, data=dict_list(sent))
    assert response.status_code == 400
    assert "two different times, like 22:00 and 07:00" in response.text
    assert 'value="25:00"' in response.text  # what they typed is shown again to correct
    assert await changes(runtime) == []


async def test_a_form_without_the_pages_key_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, link: str
) -> None:
    form = form_of((await client.get(link)).text)
    sent = with_values(form.fields, **{"low_balance.receive": "no"})
    missing = [(k, v) for k, v in sent if k != "form_key"]
    response = await client.post(link, data=dict_list(missing))
    assert response.status_code == 403
    assert "Nothing was changed" in response.text
    other = await make_customer(runtime.deps, ref="C-10", account="GB00X", phone=None, email=None)
    assert other.id is not None
    other_form = form_of(
        (await client.get(f"/p/{runtime.deps.links.sign_preferences(other.id)}")).text
    )
    other_key = dict(other_form.fields)["form_key"]
    wrong = with_values(sent, form_key=other_key)
    assert (await client.post(link, data=dict_list(wrong))).status_code == 403
    assert await changes(runtime) == []


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_bad_link_gets_a_friendly_page(
    client: httpx.AsyncClient, link: str, method: str
) -> None:
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    for bad in (tampered, "/p/not-a-token"):
        response = await client.request(method, bad, data={"form_key": "x"})
        assert response.status_code == 400
        assert "This link does not work" in response.text
        assert "use the link in the latest alert we sent you" in response.text
        assert "Traceback" not in response.text


async def test_an_expired_link_gets_a_friendly_page(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, link: str
) -> None:
    signer = runtime.deps.links
    runtime.deps.links = LinkSigner(
        settings.secret_key.get_secret_value(), preferences_max_age_seconds=-1
    )
    try:
        response = await client.get(link)
    finally:
        runtime.deps.links = signer
    assert response.status_code == 410
    assert "This link has expired" in response.text
    assert "latest alert" in response.text


async def test_the_customer_changes_their_language_and_the_page_speaks_it_at_once(
    client: httpx.AsyncClient, runtime: Runtime, link: str
) -> None:
    form = form_of((await client.get(link)).text)
    offered = [v for n, v in form.fields if n == "*.language"]
    assert offered == [""]  # nothing chosen yet: the account's language
    sent = with_values(form.fields, **{"*.language": "nl"})
    response = await client.post(link, data=dict_list(sent))
    assert response.status_code == 200
    html = response.text
    assert '<html lang="nl">' in html
    assert "Uw wijzigingen zijn opgeslagen" in html and "Taal: Nederlands." in html
    assert "Alle meldingen:" in html and "Grote afschrijving" in html
    [change] = await changes(runtime)
    assert (change.actor, change.alert_type, change.after["language"]) == (ACTOR, "*", "nl")
    again = await client.get(link)  # the next visit, and every other page of theirs, in Dutch
    assert '<html lang="nl">' in again.text and "Uw instellingen voor meldingen" in again.text
    assert 'value="nl" lang="nl" selected' in again.text


async def test_the_language_select_offers_herald_s_five_languages(
    client: httpx.AsyncClient, link: str
) -> None:
    html = (await client.get(link)).text
    select = html[
        html.index('name="*.language"') : html.index("</select>", html.index('name="*.language"'))
    ]
    for code, name in [
        ("en", "English"),
        ("nl", "Nederlands"),
        ("fr", "Français"),
        ("de", "Deutsch"),
        ("es", "Español"),
    ]:
        assert f'value="{code}" lang="{code}">{name}</option>' in select
    assert "Italiano" not in select
    sent = with_values(form_of(html).fields, **{"*.language": "it"})
    refused = await client.post(link, data=dict_list(sent))
    assert refused.status_code == 400 and "Please choose a language from the list." in refused.text
