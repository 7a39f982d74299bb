"""Staff accounts: argon2 password hashing, creating users and checking their credentials."""

from __future__ import annotations

import asyncio
import logging
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from alerts.models import User

logger = logging.getLogger(__name__)

ROLES = ("admin", "agent", "supervisor")
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
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} "
            "characters (a few unrelated words work well)"
        )
    taken = f"a user named {name!r} already exists: choose another username"
    if (await session.exec(select(User).where(User.username == name))).first() is not None:
        raise ValueError(taken)
    user = User(
        username=name, role=role, password_hash=await asyncio.to_thread(hash_password, password)
    )
    session.add(user)
    try:
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
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
        session.add(user)
        await session.commit()
    return user
