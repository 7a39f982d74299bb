"""Studio "Try it as the customer" for the email: the draft's email, with its response buttons.

The studio makes a trial alert with one email attempt (alerts.responses.trial), built by the
code that sends emails and never sent. Its buttons are the real signed ``/r/`` links: clicked
in the framed email they open Herald's own answer pages in a new tab, as a customer's mail
program would, and the answer confirmed there goes through the real response code. A trial's
hand-off is closed as it is created, so no agent sees it; the page then shows what Herald
recorded for the trial.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import HTMLResponse, Response

from admin_ui.rendering import SECURITY_HEADERS
from admin_ui.routes import csrf_refused
from admin_ui.security import SessionDep, csrf_ok, require_page
from admin_ui.studio.access import CanView
from admin_ui.studio.editor import draft_spec
from admin_ui.studio.phone import BASE, phone_view
from admin_ui.studio.views import EMAIL_CSP, editor_locales
from alerts.api.deps import get_deps
from alerts.columns import utcnow
from alerts.responses.trial import start_trial_email, trial_answers, trial_email

router = APIRouter(include_in_schema=False)
# Links in the framed email open in a new tab (a frame cannot show Herald's answer pages).
NEW_TAB = '<base target="_blank">'


@router.post(f"{BASE}/{{key}}/email-trial", response_model=None)
async def email_trial_start(
    key: str, request: Request, user: CanView, session: SessionDep
) -> Response:
    """Make the trial email of the draft (in the chosen language) and show it."""
    form = await request.form()
    if not csrf_ok(request, str(form.get("csrf_token", ""))):
        return csrf_refused(request, user)
    spec, problems = await draft_spec(session, key)
    if spec is None:
        return phone_view(request, user, key, None, problems=problems)
    locales = editor_locales(spec.as_json())
    wanted = str(form.get("locale", ""))
    locale = spec.content_locale(wanted if wanted in locales else locales[-1], "email")
    if "email" not in spec.content.get(locale, {}):
        return phone_view(
            request,
            user,
            key,
            spec,
            locales=locales,
            email_error="This draft has no email text yet: write it in the editor first.",
            status_code=422,
        )
    email = await start_trial_email(
        deps=get_deps(request), spec=spec, locale=locale, actor=user.username, now=utcnow()
    )
    return RedirectResponse(
        f"{BASE}/{key}/email-trial/{email.attempt_id}#trial-email", status_code=303
    )


@router.get(f"{BASE}/{{key}}/email-trial/{{attempt_id}}")
async def email_trial_page(
    key: str, attempt_id: int, request: Request, user: CanView, session: SessionDep
) -> HTMLResponse:
    """The trial email in a frame, and what the pretend customer answered so far."""
    spec, problems = await draft_spec(session, key)
    if spec is None:
        return phone_view(request, user, key, None, problems=problems)
    locales = editor_locales(spec.as_json())
    deps = get_deps(request)
    email = await trial_email(deps=deps, key=key, attempt_id=attempt_id)
    if email is None:
        return phone_view(
            request,
            user,
            key,
            spec,
            locales=locales,
            email_error="That trial email was not found (trials are kept a week). Open a new one.",
            status_code=404,
        )
    answers = await trial_answers(deps=deps, alert_id=email.alert_id)
    return phone_view(
        request, user, key, spec, locales=locales, email_trial=email, email_answers=answers
    )


@router.get(
    f"{BASE}/{{key}}/email-trial/{{attempt_id}}/email.html",
    dependencies=[Depends(require_page("view"))],
)
async def email_trial_html(key: str, attempt_id: int, request: Request) -> HTMLResponse:
    """The trial email's HTML alone, for the frame; its links open in a new tab."""
    email = await trial_email(deps=get_deps(request), key=key, attempt_id=attempt_id)
    if email is None:
        return HTMLResponse("<p>That trial email was not found.</p>", status_code=404)
    html = email.html
    at = html.find("<head>")
    html = html[: at + 6] + NEW_TAB + html[at + 6 :] if at >= 0 else NEW_TAB + html
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": EMAIL_CSP}
    headers["X-Frame-Options"] = "SAMEORIGIN"
    return HTMLResponse(html, headers=headers)
