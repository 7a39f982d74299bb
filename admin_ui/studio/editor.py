"""Studio pages for one alert type: the editor (a draft), publishing, SMS length, the trial
against recent events and the preview of every channel."""

from __future__ import annotations

from html import escape
from typing import Any, NotRequired, TypedDict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from pydantic import JsonValue, ValidationError
from starlette.responses import HTMLResponse, Response

from admin_ui.rendering import SECURITY_HEADERS
from admin_ui.routes import csrf_refused
from admin_ui.security import SessionDep, csrf_ok, require_page
from admin_ui.studio.access import CanEdit, CanPublish, CanView
from admin_ui.studio.views import (
    EMAIL_CSP,
    TEMPLATE_FIELDS,
    add_language,
    editor_locales,
    event_types,
    example_values,
    flash,
    json_object,
    latest_event_values,
    spec_from_form,
    studio_page,
    translation_gaps,
)
from alerts.alert_types.content import ContentError
from alerts.alert_types.drafts import (
    DraftError,
    FourEyesRefused,
    Problem,
    check,
    get_draft,
    language_name,
    publish_draft,
    save_draft,
)
from alerts.alert_types.recordings import Recording, media_url
from alerts.alert_types.review import (
    FILE_FIELDS,
    PLACEHOLDERS,
    SmsReport,
    VoicePart,
    preview_email,
    preview_sms,
    preview_voice,
    sms_report,
)
from alerts.alert_types.speech import APPROXIMATION, SpeechUnavailable, synthesise
from alerts.alert_types.speech import available as speech_available
from alerts.alert_types.store import AlertTypeError, SimultaneousSave, get_row, stored_spec
from alerts.api.deps import get_deps
from alerts.columns import utcnow
from alerts.decisions.trial import TRIAL_EVENTS, trial_run
from alerts.links import MediaSigner
from alerts.models import AlertType, AlertTypeDraft
from alerts.responses.voice_script import INVALID
from rules.alert_types import BATCH_CHOICES, AlertTypeSpec
from rules.vocabulary import INTENT_WORDS

router = APIRouter(include_in_schema=False)
BASE = "/admin/alert-types"


class _Previews(TypedDict):
    """What the preview page shows: each channel as sent, and what could not be rendered."""

    sms: str | None
    email: tuple[str, str, str] | None
    voice: list[VoicePart]
    errors: list[str]
    sms_report: NotRequired[SmsReport]


async def _current(session: Any, key: str) -> tuple[AlertType | None, AlertTypeDraft | None]:
    return await get_row(session, key), await get_draft(session, key)


def _missing(request: Request, user: Any, key: str) -> HTMLResponse:
    return studio_page(request, "missing.html", user, status_code=404, title="Not found", key=key)


@router.get(f"{BASE}/{{key}}")
async def editor(key: str, request: Request, user: CanView, session: SessionDep) -> HTMLResponse:
    row, draft = await _current(session, key)
    if row is None and draft is None:
        return _missing(request, user, key)
    spec: dict[str, JsonValue] = dict(draft.spec if draft else row.spec if row else {})
    problems = check(spec)
    by_field: dict[str, list[Problem]] = {}
    for problem in problems:
        by_field.setdefault(problem.field, []).append(problem)
    deps = get_deps(request)
    base = example_values(deps)
    sms = {
        loc: sms_report(body, spec_data=spec, base=base, locale=loc)
        for loc, channels in json_object(spec.get("content")).items()
        if isinstance(body := json_object(json_object(channels).get("sms")).get("body"), str)
    }
    return studio_page(
        request,
        "editor.html",
        user,
        title=f"{spec.get('name') or key} · alert type",
        key=key,
        row=row,
        draft=draft,
        spec=spec,
        problems=problems,
        by_field=by_field,
        blocking=[p for p in problems if p.blocking],
        locales=editor_locales(spec),
        fields=TEMPLATE_FIELDS,
        event_types=await event_types(session, spec),
        batch_choices=BATCH_CHOICES,
        intent_words=INTENT_WORDS,
        placeholders=PLACEHOLDERS,
        file_fields=FILE_FIELDS,
        sms=sms,
        four_eyes=_four_eyes(request),
        gaps=translation_gaps(spec),
    )


def _four_eyes(request: Request) -> bool:
    return bool(getattr(request.app.state.settings, "four_eyes", False))


@router.post(f"{BASE}/{{key}}/draft", response_model=None)
async def save(key: str, request: Request, user: CanEdit, session: SessionDep) -> Response:
    form = await request.form()
    if not csrf_ok(request, str(form.get("csrf_token", ""))):
        return csrf_refused(request, user)
    row, draft = await _current(session, key)
    if row is None and draft is None:
        return _missing(request, user, key)
    base: dict[str, JsonValue] = dict(draft.spec if draft else row.spec if row else {})
    spec = spec_from_form(base, form)
    action = str(form.get("action", "save"))
    if action == "add_language":
        spec = add_language(spec, str(form.get("add_locale", "")).strip())
    _, problems = await save_draft(session=session, key=key, spec=spec, actor=user.username)
    blocking = [p for p in problems if p.blocking]
    if action == "trial":
        return RedirectResponse(f"{BASE}/{key}/trial", status_code=303)
    if action == "phone":
        return RedirectResponse(f"{BASE}/{key}/phone", status_code=303)
    if action == "preview":
        return RedirectResponse(f"{BASE}/{key}/preview", status_code=303)
    if action.startswith("ch_"):
        flash(request, "Delivery policy saved in the draft.")
        return RedirectResponse(f"{BASE}/{key}#delivery", status_code=303)
    if action.startswith("opt_"):
        flash(request, "Response options saved in the draft.")
        return RedirectResponse(f"{BASE}/{key}#options", status_code=303)
    if action == "add_language":
        locale = str(form.get("add_locale", ""))
        flash(request, f"{language_name(locale)} added with the English texts: translate them.")
        return RedirectResponse(f"{BASE}/{key}#lang-{locale}", status_code=303)
    if blocking:
        flash(
            request,
            f"Draft saved, with {len(blocking)} problem(s) to fix before it can be published "
            "(shown next to the fields).",
        )
    else:
        flash(request, "Draft saved. Customers still get the published version until you publish.")
    return RedirectResponse(f"{BASE}/{key}", status_code=303)


@router.post(f"{BASE}/{{key}}/publish", response_model=None)
async def publish(key: str, request: Request, user: CanPublish, session: SessionDep) -> Response:
    form = await request.form()
    if not csrf_ok(request, str(form.get("csrf_token", ""))):
        return csrf_refused(request, user)
    try:
        row = await publish_draft(
            session=session,
            key=key,
            actor=user.username,
            note=str(form.get("note", "")).strip(),
            four_eyes=_four_eyes(request),
        )
    except FourEyesRefused as exc:
        flash(request, f"Not published. {exc}", error=True)
    except AlertTypeError as exc:
        flash(request, "Not published: " + "; ".join(exc.lines), error=True)
    except (DraftError, SimultaneousSave, LookupError) as exc:
        flash(request, f"Not published: {exc}", error=True)
    else:
        flash(request, f"Published as version {row.version}. New events now use it.")
    return RedirectResponse(f"{BASE}/{key}", status_code=303)


@router.post(f"{BASE}/{{key}}/sms-length", dependencies=[Depends(require_page("edit_drafts"))])
async def sms_length_of(key: str, request: Request, session: SessionDep) -> JSONResponse:
    """The live counter: the SMS text being typed, filled in and counted as carriers bill it."""
    form = await request.form()
    if not csrf_ok(request, str(form.get("csrf_token", ""))):
        return JSONResponse({"error": "the form expired: reload the page"}, status_code=403)
    row, draft = await _current(session, key)
    spec: dict[str, JsonValue] = dict(draft.spec if draft else row.spec if row else {})
    text = str(form.get("text", "")).replace("\r\n", "\n")
    locale = str(form.get("locale", "en"))[:20]
    base = example_values(get_deps(request))
    report = sms_report(text, spec_data=spec, base=base, locale=locale)
    return JSONResponse(report.as_json())


async def draft_spec(session: Any, key: str) -> tuple[AlertTypeSpec | None, list[Problem]]:
    """The draft (or the published version) as a spec, or the problems that stop it being one."""
    row, draft = await _current(session, key)
    data: dict[str, JsonValue] = dict(draft.spec if draft else row.spec if row else {})
    if not data:
        return None, [Problem("general", f"There is no alert type “{key}”.")]
    problems = [p for p in check(data) if p.blocking]
    if problems:
        return None, problems
    try:
        return stored_spec({**data, "version": (row.version if row else 0) + 1}), []
    except ValidationError as exc:  # pragma: no cover - check() said it was valid
        return None, [Problem("general", str(exc))]


@router.get(f"{BASE}/{{key}}/trial")
async def trial(key: str, request: Request, user: CanView, session: SessionDep) -> HTMLResponse:
    spec, problems = await draft_spec(session, key)
    lines = []
    if spec is not None:
        lines = await trial_run(deps=get_deps(request), spec=spec, now=utcnow())
    return studio_page(
        request,
        "trial.html",
        user,
        title="Test against recent events",
        key=key,
        spec=spec,
        problems=problems,
        lines=lines,
        limit=TRIAL_EVENTS,
    )


async def _sample(
    request: Request, session: SessionDep, spec: AlertTypeSpec, sample: str
) -> tuple[dict[str, Any], str]:
    """The values a preview is filled in with, and where they come from, in words."""
    deps = get_deps(request)
    if sample == "latest":
        found = await latest_event_values(session, deps, spec.trigger.event_types)
        if found is not None:
            return dict(found[0]), f"the latest real {found[1]}, masked"
        return dict(example_values(deps)), (
            "made-up example values (no event of this type received yet)"
        )
    return dict(example_values(deps)), "made-up example values"


@router.get(f"{BASE}/{{key}}/preview/voice.wav", dependencies=[Depends(require_page("view"))])
async def preview_voice_audio(
    key: str,
    request: Request,
    session: SessionDep,
    locale: str = "en",
    sample: str = "example",
    part: int = 0,
) -> Response:
    """One part of the call as the preview lists it: a recording as it is, spoken text
    synthesised on the server (an approximation of the provider's voice)."""
    spec, _ = await draft_spec(session, key)
    if spec is None:
        return PlainTextResponse("This draft cannot be previewed yet.", status_code=422)
    used = spec.content_locale(locale, "voice")
    base, _ = await _sample(request, session, spec, sample)
    try:
        parts = await preview_voice(session, spec, used, base)
    except ContentError as exc:
        return PlainTextResponse(str(exc), status_code=422)
    if not 0 <= part < len(parts):
        return PlainTextResponse(f"The call has {len(parts)} parts.", status_code=404)
    chosen = parts[part]
    if chosen.recording_id is not None:
        row = await session.get(Recording, chosen.recording_id)
        if row is not None:
            settings = request.app.state.settings
            signer = MediaSigner(settings.secret_key.get_secret_value())
            return RedirectResponse(media_url("", signer, row), status_code=307)
    try:
        audio = await synthesise(chosen.text, used)
    except SpeechUnavailable as exc:
        return PlainTextResponse(f"No audio: {exc}.", status_code=503)
    return Response(audio, media_type="audio/wav", headers={"Cache-Control": "no-store"})


@router.get(f"{BASE}/{{key}}/preview")
async def preview(
    key: str,
    request: Request,
    user: CanView,
    session: SessionDep,
    locale: str = "",
    sample: str = "example",
) -> HTMLResponse:
    spec, problems = await draft_spec(session, key)
    if spec is None:
        return studio_page(
            request,
            "trial.html",
            user,
            title="Preview",
            key=key,
            spec=None,
            problems=problems,
            lines=[],
            limit=0,
        )
    locales = editor_locales(spec.as_json())
    locale = locale if locale in locales else locales[-1]
    base, sample_from = await _sample(request, session, spec, sample)
    out: _Previews = {"sms": None, "email": None, "voice": [], "errors": []}
    used = {c: spec.content_locale(locale, c) for c in ("sms", "email", "voice")}
    has = {c: c in spec.content.get(used[c], {}) for c in used}
    try:
        if has["sms"]:
            out["sms"] = preview_sms(spec, used["sms"], base)
            body = spec.content[used["sms"]]["sms"]["body"]
            out["sms_report"] = sms_report(body, spec_data=spec.as_json(), base=base)
        if has["email"]:
            out["email"] = preview_email(spec, used["email"], base)
        if has["voice"]:
            out["voice"] = await preview_voice(session, spec, used["voice"], base)
    except ContentError as exc:
        out["errors"].append(str(exc))
    return studio_page(
        request,
        "preview.html",
        user,
        title=f"Preview · {spec.name}",
        key=key,
        spec=spec,
        locale=locale,
        locales=locales,
        sample=sample,
        sample_from=sample_from,
        out=out,
        invalid_key=INVALID,
        used=used,
        speech=APPROXIMATION if speech_available() else None,
    )


@router.get(f"{BASE}/{{key}}/preview/email", dependencies=[Depends(require_page("view"))])
async def preview_email_page(
    key: str,
    request: Request,
    session: SessionDep,
    locale: str = "en",
    sample: str = "example",
) -> Response:
    """The email's HTML alone, for the preview page's frames (desktop and phone width)."""
    spec, _ = await draft_spec(session, key)
    if spec is None:
        return HTMLResponse("<p>This draft cannot be previewed yet.</p>", status_code=422)
    base, _ = await _sample(request, session, spec, sample)
    try:
        _, _, html = preview_email(spec, spec.content_locale(locale, "email"), base)
    except ContentError as exc:
        return HTMLResponse(f"<p>{escape(str(exc))}</p>", status_code=422)
    headers = {
        **SECURITY_HEADERS,
        "Content-Security-Policy": EMAIL_CSP,
        "X-Frame-Options": "SAMEORIGIN",
    }
    return HTMLResponse(html, headers=headers)
