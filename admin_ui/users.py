"""Staff accounts: argon2 password hashing, creating users, changing their role, disabling them,
resetting passwords, and checking their credentials. Every change is audited (alerts.audit)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts import audit
from alerts.access import ROLES
from alerts.columns import utcnow
from alerts.models import User

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; a corrupt or foreign hash is a mismatch, never an error."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so both failures take about the same time."""
    return hash_password("herald-no-such-user-placeholder")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} "
            "characters (a few unrelated words work well)"
        )


def normalise_username(username: str) -> str:
    return username.strip().lower()


async def create_user(
    *, session: AsyncSession, username: str, password: str, role: str = "admin"
) -> User:
    """Create and commit a staff user; ValueError says what to change when the input is refused."""
    name = normalise_username(username)
    if not name:
        raise ValueError("the username is empty: choose a username such as 'alice'")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    _check_password(password)
    taken = f"a user named {name!r} already exists: choose another username"
    if (await session.exec(select(User).where(User.username == name))).first() is not None:
        raise ValueError(taken)
    user = User(
        username=name, role=role, password_hash=await asyncio.to_thread(hash_password, password)
    )
    session.add(user)
    try:
        await session.flush()
        audit.record(session, kind="user", entity_id=name, action="create", after={"role": role})
        await session.commit()
    except IntegrityError as exc:  # created concurrently by someone else
        await session.rollback()
        raise ValueError(taken) from exc
    await session.refresh(user)
    logger.info("user created user_id=%s role=%s", user.id, role)
    return user


async def authenticate(*, session: AsyncSession, username: str, password: str) -> User | None:
    """The user when the credentials match, else None (without saying which part was wrong)."""
    user = (
        await session.exec(select(User).where(User.username == normalise_username(username)))
    ).first()
    if user is None:
        await asyncio.to_thread(verify_password, _dummy_hash(), password)
        return None
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        return None
    if user.disabled:
        logger.info("login of a disabled user refused user_id=%s", user.id)
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    user.last_login_at = utcnow()
    session.add(user)
    await session.commit()
    await session.refresh(user)
    return user


async def list_users(*, session: AsyncSession) -> Sequence[User]:
    return (await session.exec(select(User).order_by(col(User.username)))).all()


async def _get(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise ValueError(f"there is no user {user_id}")
    return user


async def _other_enabled_admins(session: AsyncSession, user: User) -> int:
    rows = await session.exec(
        select(User).where(User.role == "admin", User.id != user.id, col(User.disabled).is_(False))
    )
    return len(rows.all())


async def change_role(*, session: AsyncSession, user_id: int, role: str) -> User:
    """Give a user another role; the last enabled administrator keeps theirs."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    user = await _get(session, user_id)
    if user.role == role:
        return user
    if (
        user.role == "admin"
        and not user.disabled
        and not await _other_enabled_admins(session, user)
    ):
        raise ValueError(f"{user.username} is the only administrator: make another one first")
    before = user.role
    user.role, user.auth_version = role, user.auth_version + 1
    session.add(user)
    audit.record(
        session,
        kind="user",
        entity_id=user.username,
        action="change_role",
        before={"role": before},
        after={"role": role},
    )
    await session.commit()
    await session.refresh(user)
    logger.info("user role changed user_id=%s role=%s", user.id, role)
    return user


async def set_disabled(*, session: AsyncSession, user_id: int, disabled: bool) -> User:
    """Disable a user (their sessions and tokens stop working at once) or enable them again."""
    user = await _get(session, user_id)
    if user.disabled == disabled:
        return user
    if disabled and user.role == "admin" and not await _other_enabled_admins(session, user):
        raise ValueError(f"{user.username} is the only administrator: make another one first")
    user.disabled, user.auth_version = disabled, user.auth_version + 1
    session.add(user)
    audit.record(
        session,
        kind="user",
        entity_id=user.username,
        action="disable" if disabled else "enable",
        before={"disabled": not disabled},
        after={"disabled": disabled},
    )
    await session.commit()
    await session.refresh(user)
    logger.info("user %s user_id=%s", "disabled" if disabled else "enabled", user.id)
    return user


async def end_sessions(*, session: AsyncSession, user_id: int) -> None:
    """End every session of the user (on logout): each cookie carries the auth_version of its
    login, and a request whose version is not the stored one goes to the login form."""
    user = await _get(session, user_id)
    user.auth_version += 1
    session.add(user)
    await session.commit()


async def reset_password(
    *, session: AsyncSession, user_id: int, password: str | None = None
) -> tuple[User, str]:
    """Set a new password (a generated one when none is given) and end the user's sessions;
    returns the password, to hand to the user once."""
    new = password or secrets.token_urlsafe(12)
    _check_password(new)
    user = await _get(session, user_id)
    user.password_hash = await asyncio.to_thread(hash_password, new)
    user.auth_version += 1
    session.add(user)
    audit.record(
        session,
        kind="user",
        entity_id=user.username,
        action="reset_password",
        before={"password": "(old)"},
        after={"password": "(new)"},
    )
    await session.commit()
    await session.refresh(user)
    logger.info("user password reset user_id=%s", user.id)
    return user, new
