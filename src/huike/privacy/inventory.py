"""The data inventory (F1): what every persisted column holds, about whom, why, for how long, and
what erasure does to it. Declarations live on the models themselves:

* each table declares its defaults with ``__inventory__ = TableInventory(...)``;
* each column that is not structural (id, tenant_id, created_at, updated_at) declares its category
  with ``mapped_column(..., info=describe("user.contact.phone_number", ...))``; personal columns may
  override the table's subject, purpose, retention or erasure action there.

Categories come from :data:`TAXONOMY`, a small fideslang-style dotted registry (``user.*``,
``customer_data.*``, ``organization.*``, ``system.*``) with a zh-CN and an English label for each key;
purposes come from :data:`PURPOSES`. A JSON column that holds identifiers declares them with
``describe(..., json_paths={"ExternalUserID": JsonPath(...)})``, and a table finds its subjects' rows
through ``subject_key`` and ``subject_keys`` (``"column"`` or ``"column.JsonPath"``).

The checks (:mod:`huike.privacy.ropa.checks`: every column declared, encryption as the policy requires,
every personal table reachable from a subject, no forbidden combination) run in
``tests/privacy/test_f1_inventory.py``; the record of processing activities (:mod:`huike.privacy.ropa`)
is built from here. The rules are explained in ``docs/privacy/inventory-rules.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from enum import StrEnum
from typing import Any, Literal


class Subject(StrEnum):
    """Whose data it is (the policy's roles)."""

    account_holder = "account_holder"  # a platform user: team creator, admin, member (授权用户)
    member = "member"  # a WeCom member of a customer's corp (成员)
    customer_admin = "customer_admin"
    external_contact = "external_contact"  # the customer's customer (外部联系人客户)
    guardian = "guardian"
    tenant = "tenant"  # the organisation itself: not a natural person
    none = "none"  # system data about no one


class Owner(StrEnum):
    """Who decides the processing: the platform as handler, or the customer with us as processor."""

    platform = "platform"
    customer = "customer"  # 客户使用数据: we process it on the customer's behalf


class Erasure(StrEnum):
    delete_row = "delete_row"
    null = "null"
    anonymise = "anonymise"
    pseudonymise_under_hold = "pseudonymise_under_hold"
    keep = "keep"  # not personal: nothing to erase


class LegalBasis(StrEnum):
    consent = "consent"
    contract = "contract"
    legal_duty = "legal_duty"
    exception = "exception"  # one of the codes a–l of §一（二）8


@dataclass(frozen=True)
class Purpose:
    code: str
    basis: LegalBasis = LegalBasis.contract


@dataclass(frozen=True)
class Retention:
    """When the clock starts, how long it runs, and what happens then."""

    trigger: (
        str  # created | account_closed | tenant_terminated | authorisation_closed | ticket_closed | never
    )
    days: int | None
    action: Erasure


@dataclass(frozen=True)
class SubjectKey:
    """A further way to find a subject's rows: ``key`` is a column or ``column.JsonPath`` holding the
    subject's identity (or a reference to a row that does); ``how`` says how to compute it."""

    subject: Subject
    key: str
    how: str = ""


@dataclass(frozen=True)
class TableInventory:
    subject: Subject
    owner: Owner
    purposes: tuple[Purpose, ...]
    retention: Retention
    erasure: Erasure
    # how to find the subject's rows: a column holding the subject's identity or a reference to it
    subject_key: str | None = None
    region: str = "cn-mainland"
    # keys of other subjects (or other identifiers of the same one), e.g. a pseudonym or a JSON path
    subject_keys: tuple[SubjectKey, ...] = ()
    notes: str = ""

    def all_keys(self) -> tuple[SubjectKey, ...]:
        """Every declared key: ``subject_key`` (for :attr:`subject`) first, then :attr:`subject_keys`."""
        first = (SubjectKey(self.subject, self.subject_key),) if self.subject_key else ()
        return first + self.subject_keys


@dataclass(frozen=True)
class JsonPath:
    """A key inside a JSON column that holds something about a person (an identifier, usually)."""

    category: str
    subjects: tuple[Subject, ...]
    notes: str = ""


@dataclass(frozen=True)
class FieldInventory:
    category: str
    personal: bool = False
    sensitive: bool = False
    encrypted: bool = False
    subject: Subject | None = None
    purposes: tuple[Purpose, ...] | None = None
    erasure: Erasure | None = None
    notes: str = ""
    extra: dict[str, Any] = dc_field(default_factory=dict)
    json_paths: Mapping[str, JsonPath] = dc_field(default_factory=dict)


INFO_KEY = "huike.inventory"

# Columns whose meaning is the same on every table; they need no declaration of their own.
STRUCTURAL: dict[str, str] = {
    "id": "system.id",
    "tenant_id": "system.tenant_reference",
    "created_at": "system.timestamp",
    "updated_at": "system.timestamp",
}


def describe(
    category: str,
    *,
    personal: bool = False,
    sensitive: bool = False,
    encrypted: bool = False,
    subject: Subject | None = None,
    purposes: tuple[Purpose, ...] | None = None,
    erasure: Erasure | None = None,
    notes: str = "",
    json_paths: Mapping[str, JsonPath] | None = None,
) -> dict[str, Any]:
    """The ``info=`` of a mapped column: its category and how it differs from the table's defaults.

    ``json_paths`` (JSON columns only): the keys inside the document that identify someone, each with
    its category and subjects, so that export and erasure can find the row from that person."""
    return {
        INFO_KEY: FieldInventory(
            category=category,
            personal=personal,
            sensitive=sensitive,
            encrypted=encrypted,
            subject=subject,
            purposes=purposes,
            erasure=erasure,
            notes=notes,
            json_paths=dict(json_paths or {}),
        )
    }


SYSTEM_TABLE = TableInventory(
    subject=Subject.none,
    owner=Owner.platform,
    purposes=(Purpose("operations"),),
    retention=Retention("never", None, Erasure.keep),
    erasure=Erasure.keep,
)


# --- the taxonomy ---------------------------------------------------------------------------------

Locale = Literal["zh-CN", "en"]


@dataclass(frozen=True)
class Category:
    """One key of the dotted taxonomy (fideslang style: ``user.contact.phone_number``).

    ``must_encrypt``: the policy requires the value encrypted at rest (F3) wherever it is stored; see
    :data:`MUST_ENCRYPT`. ``sensitive``: sensitive personal information (PIPL Art. 28) by its nature,
    whatever a column says. A one-way digest or a blind index of such a value has its own key (``….
    blind_index``, ``…_hash``) and is not itself encrypted: it cannot be reversed."""

    key: str
    zh: str
    en: str
    must_encrypt: bool = False
    sensitive: bool = False

    def label(self, locale: Locale) -> str:
        return self.en if locale == "en" else self.zh


TOP_LEVELS = ("user", "customer_data", "organization", "system")


_CATEGORIES: tuple[Category, ...] = (
    # user.*: a natural person's data the platform processes (account holders, members, guardians)
    Category("user", "用户个人信息", "User data"),
    Category("user.unique_id", "用户内部标识", "Internal user ID"),
    Category("user.pseudonym", "标识符的假名（HMAC）", "Pseudonym of an identifier (HMAC)"),
    Category("user.name", "姓名", "Name"),
    Category("user.contact", "联系方式", "Contact details"),
    Category("user.contact.phone_number", "手机号码", "Mobile phone number", must_encrypt=True),
    Category("user.contact.phone_number.blind_index", "手机号码盲索引", "Blind index of a phone number"),
    Category("user.contact.email", "电子邮箱", "E-mail address", must_encrypt=True),
    Category("user.contact.email.blind_index", "电子邮箱盲索引", "Blind index of an e-mail address"),
    Category("user.government_id", "身份证件号码", "Government ID number", must_encrypt=True, sensitive=True),
    Category(
        "user.financial.account_number", "银行账户", "Bank account number", must_encrypt=True, sensitive=True
    ),
    Category("user.authorization", "身份验证信息", "Authentication data"),
    Category("user.authorization.sms_code", "短信验证码", "SMS verification code", must_encrypt=True),
    Category("user.authorization.sms_code_hmac", "短信验证码的 HMAC", "HMAC of an SMS code"),
    Category("user.authorization.method", "登录方式", "Login method"),
    Category("user.authorization.password_hash", "密码摘要（不可逆）", "Password hash (one-way)"),
    Category("user.authorization.session_token_hash", "会话令牌摘要", "Session token digest"),
    Category("user.consent", "同意记录", "Consent record"),
    Category("user.consent.purposes", "同意的处理目的", "Purposes consented to"),
    Category("user.consent.purpose", "处理目的", "Purpose"),
    Category("user.consent.action", "同意或撤回", "Grant or withdrawal"),
    Category("user.consent.method", "同意方式", "Consent method"),
    Category("user.consent.channel", "渠道", "Channel"),
    Category("user.consent.time", "同意时间", "Time of consent"),
    Category("user.device", "设备信息", "Device data"),
    Category("user.device.ip_address", "IP 地址", "IP address"),
    Category("user.device.ip_address_truncated", "截断的 IP 地址", "Truncated IP address"),
    Category("user.device.user_agent_hash", "浏览器标识摘要", "User-agent digest"),
    Category("user.device.ip_address_pseudonym", "IP 地址的假名（HMAC）", "Pseudonym of an IP address"),
    Category("user.device.id_hash", "设备标识摘要", "Device ID digest"),
    Category("user.device.type", "设备类型", "Device type"),
    Category("user.device.os", "操作系统", "Operating system"),
    Category("user.device.browser", "浏览器", "Browser"),
    Category("user.activity", "使用记录", "Activity"),
    Category("user.activity.last_seen", "最近活动时间", "Last seen"),
    Category("user.account", "帐号信息", "Account data"),
    Category("user.account.role", "角色", "Role"),
    Category("user.statement", "声明", "Statement"),
    Category("user.statement.adult_or_guardian", "成年或监护人同意声明", "Adult or guardian statement"),
    Category("user.statement.company_authorisation", "企业授权声明", "Company authorisation statement"),
    Category("user.location", "位置信息", "Location"),
    Category("user.location.ip_region", "IP 所属地区", "Region of the IP address"),
    Category("user.location.precise", "精确位置", "Precise location", sensitive=True),
    Category("user.minor", "未成年人个人信息", "A minor's personal information", sensitive=True),
    Category("user.wecom", "企业微信帐号信息", "WeCom account data"),
    Category("user.wecom.account", "企业微信帐号（UserID）", "WeCom account (UserID)"),
    Category("user.wecom.account.blind_index", "企业微信帐号盲索引", "Blind index of a WeCom account"),
    Category("user.wecom.corp_id", "所属企业 ID", "Corp ID of the user's WeCom account"),
    Category("user.wecom.name", "企业微信名称", "WeCom name"),
    Category("user.wecom.avatar", "企业微信头像", "WeCom avatar"),
    Category("user.wecom.gender", "企业微信性别", "WeCom gender"),
    # customer_data.*: 客户使用数据, processed on the customer's instructions
    Category("customer_data", "客户使用数据", "Customer data"),
    Category("customer_data.wecom_event", "企业微信事件回调", "WeCom event callback"),
    Category("customer_data.external_contact", "外部联系人", "External contact"),
    Category(
        "customer_data.external_contact.external_userid",
        "外部联系人 ID（ExternalUserID）",
        "External contact ID (ExternalUserID)",
    ),
    Category("customer_data.external_contact.nickname", "外部联系人昵称", "External contact's nickname"),
    Category("customer_data.external_contact.remark", "外部联系人备注", "Remark on an external contact"),
    Category("customer_data.external_contact.tag", "外部联系人标签", "External contact's tags"),
    Category("customer_data.group", "客户群", "Customer group"),
    Category("customer_data.group.chat_id", "客户群 ID", "Customer group ID"),
    Category("customer_data.group.member_ids", "客户群成员 ID 列表", "IDs of a group's members"),
    # organization.*: about the customer as an organisation, not a person
    Category("organization", "组织信息", "Organisation data"),
    Category("organization.name", "组织名称", "Organisation name"),
    Category("organization.industry", "所属行业", "Industry"),
    Category("organization.location", "所在地", "Location"),
    Category("organization.location.country", "国家或地区", "Country or region"),
    Category("organization.location.province", "省份", "Province"),
    Category("organization.location.city", "城市", "City"),
    Category("organization.wecom", "企业微信企业信息", "WeCom corp data"),
    Category("organization.wecom.corp_id", "企业 ID（CorpID）", "Corp ID"),
    Category("organization.wecom.agent_id", "应用 ID（AgentId）", "App ID (AgentId)"),
    # system.*: operational data about no one
    Category("system", "系统数据", "System data"),
    Category("system.id", "行标识", "Row ID"),
    Category("system.tenant_reference", "租户引用", "Tenant reference"),
    Category("system.reference", "行引用", "Row reference"),
    Category("system.timestamp", "时间戳", "Timestamp"),
    Category("system.date", "日期", "Date"),
    Category("system.counter", "计数", "Counter"),
    Category("system.status", "状态", "Status"),
    Category("system.version", "版本号", "Version"),
    Category("system.request_id", "请求 ID", "Request ID"),
    Category("system.error_code", "错误码", "Error code"),
    Category("system.subject_type", "主体类型", "Subject type"),
    Category("system.duration", "时长", "Duration"),
    Category("system.flag", "标志", "Flag"),
    Category("system.login_state_hash", "登录状态摘要", "Login state digest"),
    Category("system.sms.purpose", "短信用途", "SMS purpose"),
    Category("system.throttle.kind", "限流类型", "Throttle kind"),
    Category("system.sales.region", "销售区域", "Sales region"),
    Category("system.sales.salesperson", "销售负责人", "Salesperson"),
    Category("system.lease", "调度租约", "Scheduler lease"),
    Category("system.integrity.hash", "完整性哈希", "Integrity hash"),
    Category("system.audit.chain", "审计链", "Audit chain"),
    Category("system.audit.sequence", "审计序号", "Audit sequence number"),
    Category("system.audit.action", "操作", "Action"),
    Category("system.audit.actor_type", "操作者类型", "Actor type"),
    Category("system.audit.object_type", "对象类型", "Object type"),
    Category("system.audit.object_reference", "对象引用", "Object reference"),
    Category("system.audit.result", "结果", "Result"),
    Category("system.audit.details", "审计详情", "Audit details"),
    Category("system.job.kind", "任务类型", "Job kind"),
    Category("system.job.progress", "任务进度", "Job progress"),
    Category("system.job.result", "任务结果", "Job result"),
    Category("system.job.error", "错误信息", "Error message"),
    Category("system.job.arguments", "任务参数", "Job arguments"),
    Category("system.key.scope", "密钥范围", "Key scope"),
    Category("system.key.family", "密钥类别", "Key family"),
    Category("system.key.version", "密钥版本", "Key version"),
    Category("system.key.kek_reference", "主密钥引用", "Key-encryption key reference"),
    Category("system.key.wrapped", "已封装的数据密钥", "Wrapped data key"),
    Category("system.key_material", "密钥材料", "Key material"),
    Category("system.egress.recipient", "接收方", "Recipient"),
    Category("system.egress.ground", "传输依据", "Ground of transfer"),
    Category("system.egress.categories", "传输的数据类别", "Categories transferred"),
    Category("system.egress.count", "涉及主体数", "Number of subjects"),
    Category("system.egress.status", "响应状态", "Response status"),
    Category("system.event.dedupe_key", "去重键", "Deduplication key"),
    Category("system.event.type", "事件类型", "Event type"),
    Category("system.policy.version", "政策版本", "Policy version"),
    Category("system.policy.text", "政策正文", "Policy text"),
    Category("system.policy.hash", "政策哈希", "Policy hash"),
    Category("system.policy.effective_date", "生效日期", "Effective date"),
    Category("system.policy.change_class", "变更类别", "Change class"),
    Category("system.policy.summary", "变更摘要", "Change summary"),
    Category("system.policy.translation", "政策译文", "Policy translation"),
    Category("system.policy.third_party_table", "第三方清单", "Third-party table"),
    Category("system.policy.consent_purposes", "需同意的目的", "Purposes needing consent"),
    Category("system.policy.channel", "展示渠道", "Display channel"),
    Category("system.wecom.callback_key", "回调地址键", "Callback URL key"),
    Category("system.wecom.corp_id", "企业 ID（CorpID）", "Corp ID"),
    Category("system.wecom_credentials", "企业微信凭据", "WeCom credentials", must_encrypt=True),
    Category("system.wecom_credentials.app_secret", "应用 Secret", "App secret", must_encrypt=True),
    Category(
        "system.wecom_credentials.contact_secret",
        "客户联系 Secret",
        "Customer-contact secret",
        must_encrypt=True,
    ),
    Category("system.wecom_credentials.callback_token", "回调 Token", "Callback token", must_encrypt=True),
    Category(
        "system.wecom_credentials.encoding_aes_key",
        "回调 EncodingAESKey",
        "Callback EncodingAESKey",
        must_encrypt=True,
    ),
    Category("system.calendar.date", "日期", "Date"),
    Category("system.calendar.year", "年份", "Year"),
    Category("system.calendar.kind", "日期类型", "Kind of day"),
    Category("system.calendar.holiday_name", "节假日名称", "Holiday name"),
    Category("system.calendar.source", "数据来源", "Source"),
)

TAXONOMY: dict[str, Category] = {category.key: category for category in _CATEGORIES}

MUST_ENCRYPT: frozenset[str] = frozenset(key for key, category in TAXONOMY.items() if category.must_encrypt)
"""Direct identifiers and secrets the policy requires encrypted at rest (F3): phone numbers, e-mail
addresses, government ID and bank account numbers, SMS codes and WeCom credentials. A column of one of
these categories must be an ``encrypted_column`` / ``secret_column``."""


def category(key: str) -> Category:
    """The registered category ``key``; ``KeyError`` for anything else."""
    return TAXONOMY[key]


def is_registered(key: str) -> bool:
    return key in TAXONOMY


def matches_registered(pattern: str) -> bool:
    """A key, or a ``prefix.*`` pattern (the egress register's), that names registered categories."""
    if pattern.endswith(".*"):
        prefix = pattern[:-2]
        return prefix in TAXONOMY or any(key.startswith(prefix + ".") for key in TAXONOMY)
    return pattern in TAXONOMY


def category_label(key: str, locale: Locale) -> str:
    found = TAXONOMY.get(key)
    return found.label(locale) if found is not None else key


# --- purposes, subjects, identities -----------------------------------------------------------------


@dataclass(frozen=True)
class PurposeInfo:
    code: str
    zh: str
    en: str

    def label(self, locale: Locale) -> str:
        return self.en if locale == "en" else self.zh


PURPOSES: dict[str, PurposeInfo] = {
    purpose.code: purpose
    for purpose in (
        PurposeInfo("operations", "平台运行", "Running the platform"),
        PurposeInfo("service.provision", "提供 SaaS 服务", "Providing the SaaS"),
        PurposeInfo("service.jobs", "后台任务", "Background jobs"),
        PurposeInfo("service.rights_deadlines", "计算权利请求的办理期限", "Deadlines of rights requests"),
        PurposeInfo("security.login_state", "保持登录状态", "Keeping the login state"),
        PurposeInfo("security.audit", "安全审计", "Security audit"),
        PurposeInfo("transparency.privacy_policy", "公开隐私政策", "Publishing the privacy policy"),
        PurposeInfo("accountability.consent_evidence", "留存同意证据", "Evidence of consent"),
        PurposeInfo("accountability.notice_evidence", "留存告知证据", "Evidence of notice"),
        PurposeInfo("accountability.transfers", "记录对外提供", "Record of transfers"),
        PurposeInfo("scrm.sync", "同步企业微信数据（SCRM 功能）", "Syncing WeCom data (SCRM functions)"),
        PurposeInfo("scrm.wecom_connection", "连接客户的企业微信", "Connecting the customer's WeCom corp"),
        PurposeInfo("account.login", "登录", "Login"),
        PurposeInfo("account.recovery", "找回帐号", "Account recovery"),
        PurposeInfo("security.login_protection", "登录安全保护", "Protecting logins"),
        PurposeInfo("security.verification", "短信验证", "SMS verification"),
        PurposeInfo("marketing.registration_analysis", "注册分析", "Registration analysis"),
        PurposeInfo("sales.assignment", "分配销售人员", "Sales assignment"),
        PurposeInfo("feedback", "处理反馈", "Handling feedback"),
        PurposeInfo("account.display", "展示", "Display"),
        PurposeInfo("marketing.product_intro", "联系您并介绍产品", "Contacting you and introducing products"),
    )
}


def purpose_label(code: str, locale: Locale) -> str:
    found = PURPOSES.get(code)
    return found.label(locale) if found is not None else code


def is_marketing(purpose: Purpose) -> bool:
    """A purpose is marketing when one segment of its code is ``marketing`` (``marketing.*``,
    ``scrm.marketing``, ...): F1 then wants consent for sensitive categories."""
    return "marketing" in purpose.code.split(".")


NATURAL_PERSONS: frozenset[Subject] = frozenset(
    {
        Subject.account_holder,
        Subject.member,
        Subject.customer_admin,
        Subject.external_contact,
        Subject.guardian,
    }
)

_PERSON_IDS = frozenset(
    {
        "user.contact.phone_number",
        "user.contact.phone_number.blind_index",
        "user.contact.email",
        "user.contact.email.blind_index",
        "user.pseudonym",
    }
)

_WECOM_IDS = frozenset({"user.unique_id", "user.wecom.account", "user.wecom.account.blind_index"})

IDENTITIES: dict[Subject, frozenset[str]] = {
    Subject.account_holder: _PERSON_IDS | _WECOM_IDS,
    Subject.customer_admin: _PERSON_IDS | _WECOM_IDS,
    Subject.member: _PERSON_IDS | _WECOM_IDS | {"customer_data.group.member_ids"},
    Subject.guardian: _PERSON_IDS | {"user.unique_id"},
    Subject.external_contact: _PERSON_IDS
    | {"customer_data.external_contact.external_userid", "customer_data.group.member_ids"},
    Subject.tenant: frozenset({"system.id", "system.tenant_reference"}),
    Subject.none: frozenset(),
}
"""The categories that *hold* a subject's identity: a column (or JSON path) of one of them, declared as
a subject key, finds the subject's rows directly. ``user.pseudonym`` and blind indexes count: they are
keyed HMACs computed from the identifier (the platform holds the key). ``customer_data.group.
member_ids`` is a list that contains the identities of members and external contacts."""

TRIGGERS: tuple[str, ...] = (
    "created",
    "account_closed",
    "tenant_terminated",
    "authorisation_closed",
    "ticket_closed",
    "never",
)
"""When a retention clock starts (R-RET-1)."""

REGIONS: frozenset[str] = frozenset({"cn-mainland"})
"""Where data may be stored or sent (§四（一）: personal information collected in the PRC stays there)."""
