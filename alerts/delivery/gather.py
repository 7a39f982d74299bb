"""Items that arrive together, run together: the waiting room of a worker's batches of steps
(alerts.delivery.batch)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

logger = logging.getLogger(__name__)

FORGET_S = 1.0  # items announced this long ago and not arrived are not waited for


class Alone:
    """The step runs on the single-step path."""


ALONE: Final = Alone()
T = TypeVar("T")


@dataclass
class Gather(Generic[T]):
    """Items submitted within ``window_s`` of the first (at most ``max_items``) are run
    together by ``run``, which answers each item's future; an item it leaves unanswered, or
    a ``run`` that fails, answers ALONE."""

    run: Callable[[list[tuple[T, asyncio.Future[Any]]]], Awaitable[None]]
    window_s: float
    max_items: int
    ready: Callable[[int], bool] = lambda _n: False  # flush at once when this holds
    # Items announced (jobs just started) that have not arrived yet; None: never announced,
    # the window decides.
    expected: int | None = None
    announced_at: float = 0.0
    _items: list[tuple[T, asyncio.Future[Any]]] = field(default_factory=list)
    _timer: asyncio.TimerHandle | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def submit(self, item: T) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._items.append((item, future))
        if self.expected is not None:
            self.expected = max(self.expected - 1, 0)
        if len(self._items) >= self.max_items or self.expected == 0 or self.ready(len(self._items)):
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.window_s, self._late)
        return future

    def _late(self) -> None:
        """The window ended before every announced item arrived: run those that did (the
        others still start, on a busy loop one job's start takes a while). An announcement
        older than FORGET_S is forgotten: a job that ended before it asked is not waited for."""
        self._timer = None
        loop = asyncio.get_running_loop()
        if self.expected and loop.time() - self.announced_at > FORGET_S:
            self.expected = 0
        self._flush()

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        items, self._items = self._items, []
        if items:
            task = asyncio.create_task(self._guarded(items))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _guarded(self, items: list[tuple[T, asyncio.Future[Any]]]) -> None:
        try:
            await self.run(items)
        except Exception:
            logger.exception("a batch of %d steps failed: each runs alone", len(items))
        finally:
            for _, future in items:
                answer(future, ALONE)


def answer(future: asyncio.Future[Any], value: object) -> None:
    """Answer a job that still waits (one cancelled meanwhile, e.g. by its timeout, does not)."""
    if future.done():
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)
