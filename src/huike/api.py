"""Every router of the API in one place: the whole surface at a glance."""

from __future__ import annotations

from fastapi import APIRouter

from huike.account.router import dev as account_dev_router
from huike.account.router import router as account_router
from huike.calendar.router import router as calendar_router
from huike.core import health
from huike.job.router import router as job_router
from huike.member.router import departments as departments_router
from huike.member.router import router as member_router
from huike.privacy.audit.router import router as audit_router
from huike.privacy.policy.router import pages as privacy_pages
from huike.privacy.policy.router import router as privacy_router
from huike.privacy.ropa.router import router as inventory_router
from huike.tag.router import groups as tag_groups_router
from huike.tag.router import tags as tags_router
from huike.wecom.callbacks import router as wecom_callback_router
from huike.wecom.router import router as wecom_router

ROUTERS: list[APIRouter] = [
    health.router,
    account_router,
    account_dev_router,
    job_router,
    calendar_router,
    audit_router,
    privacy_router,
    privacy_pages,
    inventory_router,
    wecom_router,
    wecom_callback_router,
    member_router,
    departments_router,
    tag_groups_router,
    tags_router,
]

# customer groups (group_chat domain)
from huike.group_chat.router import router as group_chats_router  # noqa: E402
from huike.group_chat.router import tags as group_chat_tags_router  # noqa: E402

ROUTERS += [group_chats_router, group_chat_tags_router]

# customers (external_contact domain)
from huike.external_contact.router import alerts as alerts_router  # noqa: E402
from huike.external_contact.router import relations as follow_relations_router  # noqa: E402
from huike.external_contact.router import router as external_contacts_router  # noqa: E402

ROUTERS += [external_contacts_router, follow_relations_router, alerts_router]

# roles and permissions (permission domain)
from huike.permission.router import member_roles as member_roles_router  # noqa: E402
from huike.permission.router import permissions as permissions_router  # noqa: E402
from huike.permission.router import roles as roles_router  # noqa: E402

ROUTERS += [permissions_router, roles_router, member_roles_router]
