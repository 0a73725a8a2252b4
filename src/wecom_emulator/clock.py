"""The emulator's clock: everything time-based (token expiry, OAuth codes, welcome codes, event
CreateTime) reads it, so a test can move time instead of sleeping."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone


class Clock:
    """Wall time plus an offset that ``advance`` moves forward.

    A frozen clock stands still until advanced, which makes tests deterministic; a running clock
    (the default for a served emulator) follows real time from wherever it was moved to."""

    def __init__(self, start: float | None = None, *, frozen: bool = False) -> None:
        self._frozen = frozen
        self._base = time.time() if start is None else float(start)
        # A running clock measures elapsed time monotonically, so system clock jumps do not matter.
        self._anchor = time.monotonic()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> float:
        if self._frozen:
            return self._base
        return self._base + (time.monotonic() - self._anchor)

    def timestamp(self) -> int:
        """Whole unix seconds, as WeCom puts them on the wire."""
        return int(self.now())

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._base += seconds
        return self.now()

    def set(self, when: float) -> None:
        """Jump to an absolute time (forward only)."""
        if when < self.now():
            raise ValueError("the clock only moves forward")
        self._base = float(when)
        self._anchor = time.monotonic()


# WeCom counts days in Beijing time: statistics are per local day, the mass-message receive cap per
# local day, week or month.
BEIJING = timezone(timedelta(hours=8))
DAY = 24 * 3600


def day_start(timestamp: float) -> int:
    """Local (UTC+8) midnight at or before ``timestamp``."""
    return int((timestamp + 8 * 3600) // DAY * DAY - 8 * 3600)


def local(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, BEIJING)
