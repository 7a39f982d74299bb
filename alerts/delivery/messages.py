"""What a plan step puts on the wire: the rendered message for its channel, and its URLs."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.alert_types.content import AlertContent, ContentError, channel_options, render_context
from alerts.alert_types.drafts import get_draft
from alerts.alert_types.store import get_spec, spec_as_saved, stored_spec
from alerts.deps import AlertDeps
from alerts.links import ResponseLink
from alerts.models import Alert, DeliveryAttempt
from alerts.plans import PlannedStep
from channels.base import OutboundMessage
from rules.alert_types import AlertTypeSpec
from rules.vocabulary import Channel

# ``session.info`` key: {alert type key: (version, saved at)} as a reader of the session read
# them beside the alert (alerts.responses.matching.call_of_attempt), for ``alert_spec``.
ALERT_TYPE_SAVED = "alert_type_saved"


def webhook_url(deps: AlertDeps, path: str) -> str:
    return f"{deps.public_url}{path}"


async def alert_spec(session: AsyncSession, alert: Alert) -> AlertTypeSpec:
    """The alert type an alert is rendered with: the published one, or for a studio trial the
    draft being tried (the published version when there is no draft)."""
    if alert.trial and (draft := await get_draft(session, alert.alert_type)) is not None:
        return stored_spec({**draft.spec, "version": alert.alert_type_version})
    saved = session.info.get(ALERT_TYPE_SAVED, {}).get(alert.alert_type)
    if saved is not None:  # the reader had the type's save: the cached spec, if it is that one
        spec = await spec_as_saved(session, alert.alert_type, *saved)
    else:
        spec = await get_spec(session, alert.alert_type)
    if spec is None:
        raise ContentError(f"alert type {alert.alert_type!r} no longer exists")
    return spec


def content_context(
    deps: AlertDeps,
    alert: Alert,
    channel: Channel,
    locale: str = "en",
    spec: AlertTypeSpec | None = None,
) -> dict[str, Any]:
    """What the templates of ``channel`` in ``locale`` see for this alert."""
    base = {
        **alert.context,
        "brand": deps.brand,
        "brand_colour": deps.brand_colour,
        "callcentre_number": deps.callcentre_number,
        "link_preferences": webhook_url(
            deps, f"/p/{deps.links.sign_preferences(alert.customer_id)}"
        ),
    }
    return render_context(base, [o.dump() for o in alert.options], channel, locale, spec)


def step_locale(alert: Alert, step_index: int) -> str:
    return alert.plan[step_index].locale if step_index < len(alert.plan) else alert.locale


SPOKEN_OR_READ = {"voice": "message", "sms": "body", "email": "text"}


async def alert_words(
    deps: AlertDeps, session: AsyncSession, alert: Alert, channel: Channel, locale: str
) -> str:
    """The alert's main text in ``channel`` as it was sent (the call's message, the SMS, the
    email's text), for the agent's screen; ContentError when it cannot be rendered now."""
    spec = await alert_spec(session, alert)
    content = AlertContent(spec, locale, channel)
    ctx = content_context(deps, alert, channel, content.used_locale, spec)
    return content.render(SPOKEN_OR_READ[channel], ctx)


async def voice_content(
    deps: AlertDeps,
    session: AsyncSession,
    alert: Alert,
    attempt: DeliveryAttempt,
    locale: str | None = None,
) -> tuple[AlertContent, dict[str, Any]]:
    """The call's content in the step's locale (or ``locale``: "en" when the customer pressed
    8 for English)."""
    spec = await alert_spec(session, alert)
    content = AlertContent(spec, locale or step_locale(alert, attempt.step_index), "voice")
    return content, content_context(deps, alert, "voice", content.used_locale, spec)


async def build_message(
    *,
    deps: AlertDeps,
    session: AsyncSession,
    alert: Alert,
    attempt: DeliveryAttempt,
    spec: AlertTypeSpec | None = None,
) -> OutboundMessage:
    """The message for ``attempt`` (ContentError when its content is gone); ``spec``: the
    published alert type when the caller has read it already."""
    assert attempt.id is not None and alert.id is not None
    step = alert.plan[attempt.step_index]
    if step.kind != "alert":
        return _direct(deps, alert, attempt, step)
    if attempt.channel == "voice":
        return _message(
            alert,
            attempt,
            text="",
            twiml_url=webhook_url(deps, f"/webhooks/twilio/voice/{attempt.id}/twiml"),
            status_callback=webhook_url(deps, f"/webhooks/twilio/voice/{attempt.id}/status"),
        )
    if spec is None or alert.trial:
        spec = await alert_spec(session, alert)
    locale = step_locale(alert, attempt.step_index)
    if attempt.channel == "sms":
        content = AlertContent(spec, locale, "sms")
        ctx = content_context(deps, alert, "sms", content.used_locale, spec)
        return _message(
            alert,
            attempt,
            text=content.render("body", ctx),
            status_callback=webhook_url(deps, f"/webhooks/twilio/sms/{attempt.id}/status"),
        )
    return _email(deps, spec, locale, alert, attempt)


def _direct(
    deps: AlertDeps, alert: Alert, attempt: DeliveryAttempt, step: PlannedStep
) -> OutboundMessage:
    """A step Herald wrote itself (alerts.delivery.direct): its own words, or the call that
    puts the customer through to the hand-off's agent."""
    if step.kind == "call_now":
        return _message(
            alert,
            attempt,
            text="",
            twiml_url=webhook_url(deps, f"/webhooks/twilio/voice/connect/{step.handoff_id}"),
            status_callback=webhook_url(deps, f"/webhooks/twilio/voice/{attempt.id}/status"),
        )
    if step.content is None:
        raise ContentError(f"step {attempt.step_index} ({step.kind}) has no content")
    status = (
        webhook_url(deps, f"/webhooks/twilio/sms/{attempt.id}/status")
        if attempt.channel == "sms"
        else None
    )
    return _message(
        alert,
        attempt,
        text=step.content.text,
        subject=step.content.subject,
        html=step.content.html,
        status_callback=status,
        message_id=f"<alert-{alert.id}.attempt-{attempt.id}@herald>"
        if attempt.channel == "email"
        else None,
    )


def _message(alert: Alert, attempt: DeliveryAttempt, **kwargs: Any) -> OutboundMessage:
    assert attempt.id is not None and alert.id is not None
    return OutboundMessage(attempt_id=attempt.id, alert_id=alert.id, to=attempt.address, **kwargs)


def _email(
    deps: AlertDeps, spec: AlertTypeSpec, locale: str, alert: Alert, attempt: DeliveryAttempt
) -> OutboundMessage:
    """Multipart email: every option a signed link to a confirm page; marketing can unsubscribe
    in one click (RFC 8058)."""
    assert attempt.id is not None
    content = AlertContent(spec, locale, "email")
    ctx = content_context(deps, alert, "email", content.used_locale, spec)
    links = {}
    for option in channel_options([o.dump() for o in alert.options], "email"):
        intent = option["intent"]
        token = deps.links.sign(ResponseLink(attempt_id=attempt.id, option=intent))
        links[intent] = webhook_url(deps, f"/r/f/{token}" if intent == "forward" else f"/r/{token}")
    headers: dict[str, str] = {}
    if alert.category == "marketing":
        unsubscribe = webhook_url(deps, f"/u/{deps.links.sign_unsubscribe(attempt.id)}")
        ctx["link_unsubscribe"] = unsubscribe
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    subject, text, html = content.email(ctx, links)
    return _message(
        alert,
        attempt,
        subject=subject,
        text=text,
        html=html,
        message_id=f"<alert-{alert.id}.attempt-{attempt.id}@herald>",
        headers=headers,
    )
