"""Frequency limits (45009) and injected faults (−1, 45009, 45033 ...) so a client's retry paths
can be exercised on purpose (spec §16.10)."""

from __future__ import annotations

from collections import defaultdict


class Faults:
    """``inject("externalcontact/get", 45033, times=2)``: the next two calls answer 45033."""

    def __init__(self) -> None:
        self._pending: dict[str, list[int]] = defaultdict(list)

    def inject(self, path: str, errcode: int, times: int = 1) -> None:
        self._pending[path.strip("/")].extend([errcode] * times)

    def take(self, path: str) -> int | None:
        queue = self._pending.get(path)
        if queue:
            return queue.pop(0)
        return None

    def clear(self) -> None:
        self._pending.clear()


class RateLimiter:
    """Fixed windows per key: when a window is full the key is refused until the window ends, which
    is how WeCom describes its blocks (a minute block lasts 60 s, an hour block 60 min)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int, int], int] = {}

    def hit(self, key: str, limit: int | None, window: int, now: float) -> bool:
        """Count one call; False when ``limit`` calls were already made in this window."""
        if limit is None:
            return True
        slot = (key, window, int(now // window))
        used = self._counts.get(slot, 0)
        if used >= limit:
            return False
        self._counts[slot] = used + 1
        if len(self._counts) > 100_000:  # old windows are useless; keep memory bounded
            current = {k: v for k, v in self._counts.items() if k[2] >= int(now // k[1])}
            self._counts = current
        return True

    def add(self, key: str, window: int, now: float) -> int:
        """Count one event without a limit (e.g. failed gettoken calls); returns the new count."""
        slot = (key, window, int(now // window))
        self._counts[slot] = self._counts.get(slot, 0) + 1
        return self._counts[slot]

    def count(self, key: str, window: int, now: float) -> int:
        return self._counts.get((key, window, int(now // window)), 0)

    def reset(self) -> None:
        self._counts.clear()
