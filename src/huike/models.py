"""Imports every ORM model so that Base.metadata knows the whole schema (Alembic, tests)."""

from huike.account.models import (
    LoginThrottle,
    Membership,
    Registration,
    SalesLead,
    SalesTerritory,
    SmsCode,
    User,
    WeComLoginState,
)
from huike.calendar.models import CalendarDay, CalendarYear
from huike.core.db import Base
from huike.core.tasks import Job, Outbox, SchedulerLease
from huike.member.models import Department, Member, MemberDepartment, MemberInvitation, MemberSyncState
from huike.privacy.audit.models import AuditChainHead, AuditEvent
from huike.privacy.egress import EgressRecord
from huike.privacy.policy.models import (
    ConsentEvent,
    PolicyAcceptance,
    PolicyNotice,
    PolicyNoticeCount,
    PolicyVersion,
)
from huike.security.keys import EncryptionKey, KeyRotation
from huike.security.sessions import AuthSession
from huike.tag.models import Tag, TagGroup
from huike.tenant.models import Tenant
from huike.wecom.models import InboxEvent, WeComConnection

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "AuthSession",
    "Base",
    "CalendarDay",
    "CalendarYear",
    "ConsentEvent",
    "Department",
    "EgressRecord",
    "EncryptionKey",
    "InboxEvent",
    "Job",
    "KeyRotation",
    "LoginThrottle",
    "Member",
    "MemberDepartment",
    "MemberInvitation",
    "MemberSyncState",
    "Membership",
    "Outbox",
    "PolicyAcceptance",
    "PolicyNotice",
    "PolicyNoticeCount",
    "PolicyVersion",
    "Registration",
    "SalesLead",
    "SalesTerritory",
    "SchedulerLease",
    "SmsCode",
    "Tag",
    "TagGroup",
    "Tenant",
    "User",
    "WeComConnection",
    "WeComLoginState",
]

# the profile (account domain)
from huike.account.models import AccountProfile, PhoneChangeTicket

__all__ += ["AccountProfile", "PhoneChangeTicket"]

# customer groups (group_chat domain)
from huike.group_chat.models import (  # noqa: E402
    GroupChat,
    GroupChatDailyStat,
    GroupChatMember,
    GroupChatMemberChange,
    GroupChatSyncState,
    GroupChatTag,
    GroupChatTagLink,
)

__all__ += [
    "GroupChat",
    "GroupChatDailyStat",
    "GroupChatMember",
    "GroupChatMemberChange",
    "GroupChatSyncState",
    "GroupChatTag",
    "GroupChatTagLink",
]

# customers (external_contact domain)
from huike.external_contact.models import (  # noqa: E402
    Alert,
    BulkTagOperation,
    ContactEvent,
    ContactSyncState,
    ContactTag,
    ExternalContact,
    FollowRelation,
    KeywordToken,
    RemarkMobile,
)

__all__ += [
    "Alert",
    "BulkTagOperation",
    "ContactEvent",
    "ContactSyncState",
    "ContactTag",
    "ExternalContact",
    "FollowRelation",
    "KeywordToken",
    "RemarkMobile",
]

# roles and permissions (permission domain)
from huike.permission.models import Role, RoleAssignment  # noqa: E402

__all__ += ["Role", "RoleAssignment"]

# after every model: a tenant table whose keys already lead with tenant_id needs no index of its own
from huike.core.tenancy import drop_redundant_tenant_indexes  # noqa: E402

drop_redundant_tenant_indexes(Base.metadata)
