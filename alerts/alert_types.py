"""Alert types as rows: built-ins seeded once; administrators change their params later."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.columns import utcnow
from alerts.content import DEFAULT_CONTENT, SAMPLE_CONTEXT, Renderer
from alerts.models import AlertType
from alerts.sms_segments import sms_length
from rules import account_activity


def builtin_types(*, threshold: Decimal, wait_seconds: int) -> list[AlertType]:
    return [
        AlertType(
            key=account_activity.KEY,
            name="Account activity: large debit",
            params={
                "threshold": str(threshold),
                "fallback_wait_seconds": wait_seconds,
                "content": {},
            },
        )
    ]


async def ensure_builtin_types(
    *, session: AsyncSession, threshold: Decimal, wait_seconds: int
) -> None:
    """Insert missing built-in types; never overwrite what an administrator changed."""
    existing = set((await session.exec(select(AlertType.key))).all())
    for alert_type in builtin_types(threshold=threshold, wait_seconds=wait_seconds):
        if alert_type.key not in existing:
            session.add(alert_type)
    await session.commit()


async def get_type(*, session: AsyncSession, key: str) -> AlertType | None:
    return (await session.exec(select(AlertType).where(AlertType.key == key))).first()


def check_content(params: dict[str, Any]) -> None:
    """Every template must render (known variables only) and the SMS must fit its segment limit
    with realistic long values — refused at edit time, not discovered at send time."""
    content = params.get("content") or {}
    if not isinstance(content, dict):
        raise ValueError("content must be a mapping of template name to text")
    unknown = set(content) - set(DEFAULT_CONTENT)
    if unknown:
        raise ValueError(f"unknown template(s) {sorted(unknown)}; known: {sorted(DEFAULT_CONTENT)}")
    renderer = Renderer({str(k): str(v) for k, v in content.items()})
    for name in DEFAULT_CONTENT:
        renderer.render(name, SAMPLE_CONTEXT, html=name == "email_html")
    limit = int(params.get("sms_max_segments", 2))
    length = sms_length(renderer.render("sms", SAMPLE_CONTEXT))
    if length.segments > limit:
        raise ValueError(
            f"the SMS is {length.describe()} with long sample values; the limit "
            f"is {limit} segment(s): shorten it or raise sms_max_segments"
        )


async def update_params(*, session: AsyncSession, key: str, changes: dict[str, Any]) -> AlertType:
    """Change an alert type's params after validating them the way the rules will read them."""
    alert_type = await get_type(session=session, key=key)
    if alert_type is None:
        raise LookupError(f"no alert type {key!r}")
    params = {**alert_type.params, **changes}
    if key == account_activity.KEY:
        account_activity.AccountActivityParams.from_mapping(
            params, default_threshold=Decimal("0"), default_wait=0
        )
    check_content(params)
    alert_type.params = params
    alert_type.updated_at = utcnow()
    session.add(alert_type)
    await session.commit()
    await session.refresh(alert_type)
    return alert_type
