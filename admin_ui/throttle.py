"""Login throttling shared by every API process through Redis.

Each failed login counts against the username and against the client address in fixed windows
(``SET NX EX`` opens a window, ``INCR`` counts in it). Once either counter reaches its limit,
logins for that username or from that address are refused until the key expires; the key's
remaining life is the "try again in N s". A successful login clears the username's counter (not
the address's, so one known account cannot be used to reset a guessing run on others).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The defaults; HERALD_LOGIN_USER_LIMIT, HERALD_LOGIN_ADDRESS_LIMIT, HERALD_LOGIN_WINDOW_MINUTES.
USER_LIMIT = 10  # failed logins per username per window
ADDRESS_LIMIT = 30  # failed logins per client address per window (offices share addresses)
WINDOW_SECONDS = 15 * 60
PREFIX = "herald:login-fails"


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    redis: Any  # redis.asyncio.Redis (arq's pool)
    user_limit: int = USER_LIMIT
    address_limit: int = ADDRESS_LIMIT
    window_s: int = WINDOW_SECONDS

    def _keys(self, username: str, address: str | None) -> list[tuple[str, int]]:
        keys = [(f"{PREFIX}:user:{username.strip().lower()}", self.user_limit)]
        if address:
            keys.append((f"{PREFIX}:addr:{address}", self.address_limit))
        return keys

    async def retry_after(self, username: str, address: str | None) -> int:
        """Seconds until a login may be tried again for this username/address; 0 if allowed."""
        wait = 0
        for key, limit in self._keys(username, address):
            count = await self.redis.get(key)
            if count is not None and int(count) >= limit:
                ttl = int(await self.redis.ttl(key))
                wait = max(wait, ttl if ttl > 0 else self.window_s)
        return wait

    async def failed(self, username: str, address: str | None) -> None:
        for key, _ in self._keys(username, address):
            # The key is created with its expiry first, so a counter can never outlive its window.
            await self.redis.set(key, 0, ex=self.window_s, nx=True)
            await self.redis.incr(key)

    async def succeeded(self, username: str) -> None:
        await self.redis.delete(self._keys(username, None)[0][0])


def too_many_message(seconds: int) -> str:
    return f"Too many attempts — try again in {seconds} s."
