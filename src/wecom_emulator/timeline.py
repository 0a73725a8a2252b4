"""Things that happen when the clock gets there rather than when someone calls: a transfer's
takeover 24 h after the request, an add_moment_task job finishing. Modules register a *settler*
that applies everything due; ``settle`` runs them all. It is called before every API call, every
scenario and every delivery run, so a test that moves the clock sees the results on its next look,
and the callbacks they cause carry the time they were due, not the time someone looked."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wecom_emulator.state import EmulatorState

Settler = Callable[["EmulatorState"], None]

SETTLERS: list[Settler] = []


def settler(function: Settler) -> Settler:
    """Register ``function(state)``: apply everything due at ``state.clock.now()``. It must be
    cheap when nothing is due (an indexed look at the earliest due time)."""
    SETTLERS.append(function)
    return function


def settle(state: EmulatorState) -> None:
    with state.store.transaction():
        for function in SETTLERS:
            function(state)
