"""Imports everything that registers itself: models (Base.metadata) and job handlers (the task table).
Every process (web, worker, scheduler, CLI) calls :func:`load` before it starts work."""

from __future__ import annotations


def load() -> None:
    import huike.core.tasks
    import huike.member.events
    import huike.member.tasks
    import huike.models
    import huike.tag.events
    import huike.tag.tasks
    import huike.wecom.tasks  # noqa: F401
