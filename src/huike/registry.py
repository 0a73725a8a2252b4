"""Imports everything that registers itself: models (Base.metadata) and job handlers (the task table).
Every process (web, worker, scheduler, CLI) calls :func:`load` before it starts work."""

from __future__ import annotations


def load() -> None:
    import huike.core.tasks
    import huike.external_contact.events
    import huike.external_contact.tasks
    import huike.group_chat.events
    import huike.group_chat.tasks
    import huike.member.events
    import huike.member.tasks
    import huike.models
    import huike.sync.tasks
    import huike.tag.events
    import huike.tag.tasks
    import huike.wecom.tasks  # noqa: F401

    # roles and permissions: install the rules other domains wait for (the tag domain's group rule)
    from huike.permission.service import install_hooks

    install_hooks()
