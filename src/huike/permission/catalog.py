"""The permission catalogue: function permissions by module (with sub-permissions), app permissions, data
scopes, the built-in roles, the scope rules other domains follow, and the permission each existing route
needs.

* **Function permissions** (``<area>.<verb>``) are grouped by module as the console shows them: 拓客引流,
  客户管理, 客户社群, 消息触达, 营销, 数据, 设置. A permission may *imply* others (``customers.edit`` implies
  ``customers.view``); roles always hold the closure (:func:`closure`).
* **App permissions** (``app.*``) say which apps a member may use: the web console and the WeCom sidebar.
* **Creator-only permissions** are never granted: only the creator holds them. ``calendar.manage``
  stands in for platform operators, who do not exist yet (the statutory calendar is platform data).
* **Built-in roles**: ``creator`` (everything), ``admin`` (everything but the creator-only permissions),
  ``member`` (:data:`MEMBER_DEFAULT`, scope self). Built-ins are code, read-only; custom roles are rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    # 拓客引流
    contact_ways_view = "contact_ways.view"
    contact_ways_manage = "contact_ways.manage"
    welcome_view = "welcome.view"
    welcome_manage = "welcome.manage"
    # 客户管理
    customers_view = "customers.view"
    customers_edit = "customers.edit"
    customers_export = "customers.export"
    customers_reveal_mobile = "customers.reveal_mobile"
    tags_manage = "tags.manage"
    # 客户社群
    groups_view = "groups.view"
    groups_manage = "groups.manage"
    # 消息触达
    mass_messages_view = "mass_messages.view"
    mass_messages_send = "mass_messages.send"
    moments_view = "moments.view"
    moments_publish = "moments.publish"
    # 营销
    materials_manage = "materials.manage"
    # 数据
    analytics_view = "analytics.view"
    # 设置
    members_view = "members.view"
    members_manage = "members.manage"
    roles_manage = "roles.manage"
    wecom_manage = "wecom.manage"
    privacy_view = "privacy.view"
    audit_view = "audit.view"
    jobs_manage = "jobs.manage"
    # 应用权限
    app_console = "app.console"
    app_sidebar = "app.sidebar"
    # 仅创建者
    creator_transfer = "creator.transfer"
    calendar_manage = "calendar.manage"


P = Permission


@dataclass(frozen=True, slots=True)
class PermissionInfo:
    code: Permission
    zh: str
    en: str
    implies: tuple[Permission, ...] = ()


@dataclass(frozen=True, slots=True)
class Module:
    code: str
    zh: str
    en: str
    permissions: tuple[PermissionInfo, ...]


MODULES: tuple[Module, ...] = (
    Module(
        "acquisition",
        "拓客引流",
        "Acquisition",
        (
            PermissionInfo(P.contact_ways_view, "查看渠道活码", "View contact ways (QR codes)"),
            PermissionInfo(
                P.contact_ways_manage, "管理渠道活码", "Manage contact ways", (P.contact_ways_view,)
            ),
            PermissionInfo(P.welcome_view, "查看欢迎语", "View welcome messages"),
            PermissionInfo(P.welcome_manage, "管理欢迎语", "Manage welcome messages", (P.welcome_view,)),
        ),
    ),
    Module(
        "customers",
        "客户管理",
        "Customers",
        (
            PermissionInfo(P.customers_view, "查看客户", "View customers"),
            PermissionInfo(
                P.customers_edit,
                "编辑客户资料与客户标签",
                "Edit customers and their tags",
                (P.customers_view,),
            ),
            PermissionInfo(P.customers_export, "导出客户", "Export customers", (P.customers_view,)),
            PermissionInfo(
                P.customers_reveal_mobile,
                "查看客户完整手机号",
                "Reveal customers' full mobile numbers",
                (P.customers_view,),
            ),
            PermissionInfo(P.tags_manage, "管理企业标签库", "Manage the corp tag library"),
        ),
    ),
    Module(
        "groups",
        "客户社群",
        "Customer groups",
        (
            PermissionInfo(P.groups_view, "查看客户群", "View customer groups"),
            PermissionInfo(P.groups_manage, "管理客户群", "Manage customer groups", (P.groups_view,)),
        ),
    ),
    Module(
        "outreach",
        "消息触达",
        "Outreach",
        (
            PermissionInfo(P.mass_messages_view, "查看群发", "View mass messages"),
            PermissionInfo(P.mass_messages_send, "创建群发", "Send mass messages", (P.mass_messages_view,)),
            PermissionInfo(P.moments_view, "查看朋友圈", "View Moments posts"),
            PermissionInfo(P.moments_publish, "发布朋友圈", "Publish Moments posts", (P.moments_view,)),
        ),
    ),
    Module(
        "marketing",
        "营销",
        "Marketing",
        (PermissionInfo(P.materials_manage, "管理素材库", "Manage the material library"),),
    ),
    Module(
        "data",
        "数据",
        "Data",
        (PermissionInfo(P.analytics_view, "查看数据统计", "View analytics"),),
    ),
    Module(
        "settings",
        "设置",
        "Settings",
        (
            PermissionInfo(P.members_view, "查看成员与部门", "View members and departments"),
            PermissionInfo(P.members_manage, "同步与邀请成员", "Sync and invite members", (P.members_view,)),
            PermissionInfo(
                P.roles_manage, "管理角色与权限", "Manage roles and permissions", (P.members_view,)
            ),
            PermissionInfo(P.wecom_manage, "管理企业微信配置", "Manage the WeCom connection"),
            PermissionInfo(P.privacy_view, "查看数据清单", "View the data inventory"),
            PermissionInfo(P.audit_view, "查看审计日志", "View the audit log"),
            PermissionInfo(P.jobs_manage, "查看与重试所有人的任务", "View and retry everyone's jobs"),
        ),
    ),
)

APPS: tuple[PermissionInfo, ...] = (
    PermissionInfo(P.app_console, "Web 管理后台", "Web console"),
    PermissionInfo(P.app_sidebar, "企业微信侧边栏", "WeCom sidebar app"),
)

CREATOR_ONLY: tuple[PermissionInfo, ...] = (
    PermissionInfo(P.creator_transfer, "转让创建者", "Transfer the creator role"),
    PermissionInfo(
        P.calendar_manage,
        "维护法定节假日日历（平台运营权限，暂由创建者行使）",
        "Maintain the statutory holiday calendar (a platform operator's permission; the creator's for now)",
    ),
)

INFO: dict[Permission, PermissionInfo] = {
    info.code: info for info in (*(i for m in MODULES for i in m.permissions), *APPS, *CREATOR_ONLY)
}
GRANTABLE: frozenset[Permission] = frozenset(
    [*(i.code for m in MODULES for i in m.permissions), *(i.code for i in APPS)]
)
"""What a custom role may hold and what an admin holds."""
EVERYTHING: frozenset[Permission] = frozenset(Permission)
assert frozenset(INFO) == EVERYTHING, "every permission needs its catalogue entry"


def closure(codes: Iterable[str]) -> frozenset[Permission]:
    """The permissions with everything they imply. Unknown codes raise ``ValueError``."""
    found: set[Permission] = set()
    pending = [Permission(code) for code in codes]
    while pending:
        code = pending.pop()
        if code not in found:
            found.add(code)
            pending.extend(INFO[code].implies)
    return frozenset(found)


# --- data scopes -----------------------------------------------------------------------------------


class DataScope(StrEnum):
    """Whose data a role sees: the member's own, their departments and every department below, or the
    whole company. Widest last (:data:`SCOPE_RANK`)."""

    own = "self"
    department = "department"
    company = "company"


SCOPE_RANK: dict[DataScope, int] = {DataScope.own: 0, DataScope.department: 1, DataScope.company: 2}
SCOPE_LABELS: dict[DataScope, tuple[str, str]] = {
    DataScope.own: ("仅本人", "Own data only"),
    DataScope.department: ("本部门及下级部门", "Own departments and below"),
    DataScope.company: ("全公司", "Whole company"),
}


@dataclass(frozen=True, slots=True)
class ScopeRule:
    """How a domain narrows a resource by :func:`huike.permission.service.visible_member_ids`: rows whose
    ``owner`` (a member id) is in the set, or every row when the set is None; ``permission`` is needed
    at all. Served in the catalogue so that the console can explain what a scope means."""

    resource: str
    owner: str
    permission: Permission
    zh: str
    en: str


SCOPE_RULES: tuple[ScopeRule, ...] = (
    ScopeRule(
        "external_contacts",
        "follow_member_id",
        P.customers_view,
        "客户：按跟进成员过滤（列表、详情、计数与导出）",
        "Customers: by the member who follows them (lists, details, counts and exports)",
    ),
    ScopeRule(
        "customer_tags",
        "tagged_by_member_id",
        P.customers_view,
        "成员给客户打的标签：按打标签的成员过滤；全公司范围（管理员）可查看所有成员所打的标签",
        "Tags members put on customers: by the tagging member; company scope (admins) sees every member's",
    ),
    ScopeRule(
        "group_chats",
        "owner_member_id",
        P.groups_view,
        "客户群：按群主过滤；全公司范围（管理员）可查看所有成员的客户群列表",
        "Customer groups: by the group owner; company scope (admins) sees every member's group list",
    ),
    ScopeRule(
        "tag_groups",
        "created_by",
        P.tags_manage,
        "标签组：可管理本人或范围内成员创建的标签组；非汇客创建的标签组仅全公司范围可管理",
        "Tag groups: those created by oneself or members in scope; groups not created in Huike need "
        "company scope",
    ),
    ScopeRule(
        "mass_messages",
        "sender_member_id",
        P.mass_messages_view,
        "群发：按发送成员过滤",
        "Mass messages: by the sending member",
    ),
    ScopeRule(
        "moments",
        "publisher_member_id",
        P.moments_view,
        "朋友圈：按发布成员过滤",
        "Moments posts: by the publishing member",
    ),
)


# --- built-in roles --------------------------------------------------------------------------------


class BuiltinRole(StrEnum):
    creator = "creator"
    admin = "admin"
    member = "member"


@dataclass(frozen=True, slots=True)
class BuiltinRoleInfo:
    key: BuiltinRole
    zh: str
    en: str
    permissions: frozenset[Permission]
    data_scope: DataScope


MEMBER_DEFAULT: frozenset[Permission] = closure(
    [
        P.contact_ways_view,
        P.welcome_view,
        P.customers_edit,
        P.groups_view,
        P.mass_messages_send,
        P.moments_publish,
        P.analytics_view,
        P.members_view,
        P.app_console,
        P.app_sidebar,
    ]
)

BUILTIN_ROLES: dict[BuiltinRole, BuiltinRoleInfo] = {
    BuiltinRole.creator: BuiltinRoleInfo(
        BuiltinRole.creator, "创建者", "Creator", EVERYTHING, DataScope.company
    ),
    BuiltinRole.admin: BuiltinRoleInfo(BuiltinRole.admin, "管理员", "Admin", GRANTABLE, DataScope.company),
    BuiltinRole.member: BuiltinRoleInfo(
        BuiltinRole.member, "普通成员", "Member", MEMBER_DEFAULT, DataScope.own
    ),
}


# --- existing routes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouteRule:
    """What a route that does not declare ``require(...)`` itself needs: any of ``any_of``."""

    any_of: tuple[Permission, ...]


TAGS_READ = RouteRule((P.customers_view, P.tags_manage))
TAGS_WRITE = RouteRule((P.tags_manage,))

ROUTE_RULES: dict[tuple[str, str], RouteRule] = {
    # 任务中心 (/api/v1/jobs): no rule; the job domain shows one's own jobs, everyone's with jobs.manage.
    ("GET", "/api/v1/audit-events"): RouteRule((P.audit_view,)),
    ("GET", "/api/v1/audit-events/{audit_event_id}"): RouteRule((P.audit_view,)),
    ("GET", "/api/v1/wecom/connection"): RouteRule((P.wecom_manage,)),
    ("PUT", "/api/v1/wecom/connection"): RouteRule((P.wecom_manage,)),
    ("POST", "/api/v1/wecom/connection/verify"): RouteRule((P.wecom_manage,)),
    ("POST", "/api/v1/members/sync"): RouteRule((P.members_manage,)),
    ("POST", "/api/v1/members/{member_id}/invite"): RouteRule((P.members_manage,)),
    ("GET", "/api/v1/members"): RouteRule((P.members_view,)),
    ("GET", "/api/v1/members/{member_id}"): RouteRule((P.members_view,)),
    ("GET", "/api/v1/departments"): RouteRule((P.members_view,)),
    ("GET", "/api/v1/tag-groups"): TAGS_READ,
    ("POST", "/api/v1/tag-groups"): TAGS_WRITE,
    ("PUT", "/api/v1/tag-groups/order"): TAGS_WRITE,
    ("PATCH", "/api/v1/tag-groups/{tag_group_id}"): TAGS_WRITE,
    ("DELETE", "/api/v1/tag-groups/{tag_group_id}"): TAGS_WRITE,
    ("POST", "/api/v1/tag-groups/{tag_group_id}/tags"): TAGS_WRITE,
    ("PUT", "/api/v1/tag-groups/{tag_group_id}/tag-order"): TAGS_WRITE,
    ("POST", "/api/v1/tags/sync"): TAGS_WRITE,
    ("PATCH", "/api/v1/tags/{tag_id}"): TAGS_WRITE,
    ("DELETE", "/api/v1/tags/{tag_id}"): TAGS_WRITE,
    # platform operators' work; operators do not exist yet, so the creator only (calendar.manage)
    ("PUT", "/api/v1/calendar/years/{year}"): RouteRule((P.calendar_manage,)),
    ("GET", "/api/v1/privacy/inventory"): RouteRule((P.privacy_view,)),
    ("GET", "/api/v1/privacy/inventory.csv"): RouteRule((P.privacy_view,)),
    # customers and customer groups: classified here until their routers declare require(...); their
    # services narrow by visible_member_ids (the data scope) themselves
    ("POST", "/api/v1/external-contacts/sync"): RouteRule((P.customers_edit,)),
    ("GET", "/api/v1/external-contacts"): RouteRule((P.customers_view,)),
    ("GET", "/api/v1/external-contacts/count"): RouteRule((P.customers_view,)),
    ("GET", "/api/v1/external-contacts/export.csv"): RouteRule((P.customers_export,)),
    ("GET", "/api/v1/external-contacts/export.xlsx"): RouteRule((P.customers_export,)),
    ("POST", "/api/v1/external-contacts/bulk-tag"): RouteRule((P.customers_edit,)),
    ("GET", "/api/v1/external-contacts/{external_contact_id}"): RouteRule((P.customers_view,)),
    ("POST", "/api/v1/external-contacts/{external_contact_id}/reveal-mobiles"): RouteRule(
        (P.customers_reveal_mobile,)
    ),
    ("PATCH", "/api/v1/follow-relations/{follow_relation_id}"): RouteRule((P.customers_edit,)),
    ("PUT", "/api/v1/follow-relations/{follow_relation_id}/tags"): RouteRule((P.customers_edit,)),
    ("POST", "/api/v1/group-chats/sync"): RouteRule((P.groups_manage,)),
    ("GET", "/api/v1/group-chats"): RouteRule((P.groups_view,)),
    ("GET", "/api/v1/group-chats/{group_chat_id}"): RouteRule((P.groups_view,)),
    ("GET", "/api/v1/group-chats/{group_chat_id}/trend"): RouteRule((P.groups_view,)),
    ("PUT", "/api/v1/group-chats/{group_chat_id}/tags"): RouteRule((P.groups_manage,)),
    ("GET", "/api/v1/group-chat-tags"): RouteRule((P.groups_view,)),
    ("POST", "/api/v1/group-chat-tags"): RouteRule((P.groups_manage,)),
    ("PATCH", "/api/v1/group-chat-tags/{group_chat_tag_id}"): RouteRule((P.groups_manage,)),
    ("DELETE", "/api/v1/group-chat-tags/{group_chat_tag_id}"): RouteRule((P.groups_manage,)),
}
"""Routes of domains that predate roles, by (method, path template), enforced centrally by
``get_tenant_context``. New routes declare ``require(...)`` (``huike.permission.deps``) instead."""
