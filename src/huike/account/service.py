"""Trial registration, SMS codes, login (password, SMS code, WeCom QR), password reset and sessions.

Failures that must leave a trace raise errors with ``keeps_writes`` (see ``errors.py``): the router
answers them after the commit, so a wrong try on a code, a failed login, a lock and their audit rows
survive. Everything else a failing call wrote rolls back with the request (one transaction), which is
why a failed registration leaves no tenant, user, membership or consent row behind.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

import phonenumbers
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from huike.account import passwords
from huike.account import repository as repo
from huike.account.errors import (
    AccountDisabled,
    AccountLocked,
    AccountPendingGuardian,
    AdultStatementRequired,
    CompanyAuthorisationRequired,
    CompanyNameRequired,
    ConsoleNotAllowed,
    GuardianConsentFailed,
    GuardianDetailsRequired,
    GuardianPhoneIsRegistrants,
    InvalidCredentials,
    InvalidGuardianPhone,
    InvalidPhone,
    NoTenant,
    PhoneAlreadyRegistered,
    SmsCodeError,
    SmsCodeExhausted,
    SmsCodeExpired,
    SmsCodeMissing,
    SmsCodeUsed,
    SmsCodeWrong,
    SmsRateLimited,
    UnknownIndustry,
    WeComLoginUnavailable,
    WeComNotLinked,
    WeComStateInvalid,
)
from huike.account.geo import IpRegion, region_lookup
from huike.account.models import (
    LoginThrottle,
    Membership,
    Registration,
    Role,
    SalesLead,
    SalesTerritory,
    SmsCode,
    SmsCodeStatus,
    SmsPurpose,
    ThrottleKind,
    User,
    UserStatus,
    WeComLoginState,
)
from huike.account.sms import SmsMessage, SmsProvider, mask_phone
from huike.config import Settings
from huike.core.db import utcnow
from huike.core.tenancy import TenantContext
from huike.permission.catalog import Permission
from huike.permission.schemas import RoleRef
from huike.privacy.audit.models import ActorType, AuditResult
from huike.privacy.audit.service import Actor, record
from huike.privacy.policy import service as policy
from huike.privacy.policy.errors import NoCurrentPolicy, PolicyVersionNotCurrent, PolicyVersionStale
from huike.privacy.policy.models import Channel, ConsentMethod, GuardianConsent
from huike.security.keys import ensure_keys
from huike.security.sessions import AuthSession, DeviceInfo, SessionMethod, resolve_session, start_session
from huike.tenant.models import Tenant

if TYPE_CHECKING:
    from huike.member.service import LoginMember as MemberForLogin
    from huike.wecom.client import WeComClient

log = structlog.get_logger(__name__)

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
CODE_MAX_WRONG = 5

LOCK_THRESHOLD = {ThrottleKind.phone: 5, ThrottleKind.ip: 20}
LOCK_BASE = timedelta(minutes=1)
LOCK_CAP = timedelta(hours=1)
FAILURE_WINDOW = timedelta(hours=24)

WECOM_STATE_LIFETIME = timedelta(seconds=300)
WECOM_LOGIN_URL = "https://login.work.weixin.qq.com/wwlogin/sso/login"
DEFAULT_TERRITORY = "*"


@dataclass(frozen=True, slots=True)
class Industry:
    code: str
    zh: str
    en: str


INDUSTRIES: tuple[Industry, ...] = (
    Industry("internet", "互联网/软件", "Internet and software"),
    Industry("education", "教育培训", "Education and training"),
    Industry("finance", "金融/保险", "Finance and insurance"),
    Industry("retail", "零售/电商", "Retail and e-commerce"),
    Industry("consumer_goods", "快消品", "Consumer goods"),
    Industry("manufacturing", "制造业", "Manufacturing"),
    Industry("healthcare", "医疗健康", "Healthcare"),
    Industry("real_estate", "房地产/家居", "Real estate and home"),
    Industry("automotive", "汽车", "Automotive"),
    Industry("travel_hospitality", "旅游/酒店/餐饮", "Travel, hotels and catering"),
    Industry("professional_services", "企业服务", "Professional services"),
    Industry("media", "文化传媒", "Media and culture"),
    Industry("logistics", "物流/交通", "Logistics and transport"),
    Industry("public_sector", "政府/非营利组织", "Government and non-profit"),
    Industry("other", "其他", "Other"),
)
INDUSTRY_CODES = frozenset(i.code for i in INDUSTRIES)


# --- small helpers -------------------------------------------------------------------------------


def normalise_mobile(value: str) -> str:
    """E.164 of a valid mainland China *mobile* number (R-REG-1), else :class:`InvalidPhone`."""
    try:
        number = phonenumbers.parse(value.strip(), "CN")
    except phonenumbers.NumberParseException:
        raise InvalidPhone() from None
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number)
        not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    ):
        raise InvalidPhone()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True, slots=True)
class Client:
    """What a request tells about the browser: the IP as the server saw it and the user agent."""

    ip: str | None
    user_agent: str | None
    session_token: str | None = None  # the session the browser came with (rotated at login)
    request: Request | None = None

    @classmethod
    def of(cls, request: Request, session_token: str | None = None) -> Client:
        return cls(
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            session_token=session_token,
            request=request,
        )


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    device_type: str
    os_family: str
    browser_family: str


_OS = (
    (re.compile(r"HarmonyOS|OpenHarmony"), "HarmonyOS"),
    (re.compile(r"iPhone|iPad|iPod"), "iOS"),
    (re.compile(r"Android"), "Android"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Mac OS X|Macintosh"), "macOS"),
    (re.compile(r"Linux"), "Linux"),
)
_BROWSERS = (
    (re.compile(r"wxwork/"), "WeCom"),
    (re.compile(r"MicroMessenger/"), "WeChat"),
    (re.compile(r"Edg[A-Za-z]*/"), "Edge"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"QQBrowser/"), "QQ Browser"),
    (re.compile(r"UCBrowser/"), "UC Browser"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"Chrome/|CriOS/|Chromium/"), "Chrome"),
    (re.compile(r"Safari/"), "Safari"),
)


def parse_user_agent(user_agent: str | None) -> UserAgentInfo:
    """OS family, browser family and device type, nothing finer (no versions, no device model)."""
    text = (user_agent or "")[:512]
    os_family = next((name for pattern, name in _OS if pattern.search(text)), "other")
    browser = next((name for pattern, name in _BROWSERS if pattern.search(text)), "other")
    if re.search(r"iPad|Tablet", text):
        device = "tablet"
    elif re.search(r"Mobile|iPhone|Android", text):
        device = "mobile"
    elif text:
        device = "desktop"
    else:
        device = "unknown"
    return UserAgentInfo(device, os_family, browser)


def lookup_region(settings: Settings, ip: str | None) -> IpRegion:
    return region_lookup(settings.ip2region_xdb).lookup(ip)


def device_info(settings: Settings, client: Client) -> DeviceInfo:
    agent = parse_user_agent(client.user_agent)
    return DeviceInfo(agent.os_family, agent.browser_family, lookup_region(settings, client.ip).label)


def china_day_start(now: datetime) -> datetime:
    local = now.astimezone(policy.CHINA)
    return datetime.combine(local.date(), time(0), tzinfo=policy.CHINA)


def _code_hmac(key: bytes, version: int, row_id: uuid.UUID, code: str) -> str:
    digest = hmac.new(key, f"sms|{row_id}|{code}".encode(), hashlib.sha256).hexdigest()
    return f"v{version}:{digest}"


# --- SMS codes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeSent:
    phone_masked: str
    expires_in_s: int
    resend_after_s: int


async def send_code(
    session: AsyncSession,
    settings: Settings,
    provider: SmsProvider,
    *,
    phone: str,
    purpose: SmsPurpose,
    client: Client,
) -> CodeSent:
    """Make and send a code (R-OTP-1). Known and unknown numbers get the same answer: for login and
    password reset a number without an account gets a row (so cooldown and caps behave the same) but
    no SMS."""
    e164 = normalise_mobile(phone)
    now = utcnow()
    terms = await repo.sms_phone_terms(session, e164)
    last = await repo.latest_sms_code(session, terms)
    cooldown = timedelta(seconds=settings.sms_resend_cooldown_s)
    if last is not None and now - last.created_at < cooldown:
        wait = cooldown - (now - last.created_at)
        raise SmsRateLimited(reason="cooldown", retry_after_s=max(1, int(wait.total_seconds()) + 1))
    day_start = china_day_start(now)
    next_day = day_start + timedelta(days=1)
    if await repo.count_sms_by_phone(session, terms, day_start) >= settings.sms_phone_daily_cap:
        raise SmsRateLimited(
            reason="phone_daily_cap", retry_after_s=int((next_day - now).total_seconds()) + 1
        )
    ip_hash = await repo.pseudonym(session, "ip", client.ip) if client.ip else None
    if ip_hash is not None:
        if (
            await repo.count_sms_by_ip(session, ip_hash, now - timedelta(hours=1))
            >= settings.sms_ip_hourly_cap
        ):
            raise SmsRateLimited(reason="ip_hourly_cap", retry_after_s=3600)
        if await repo.count_sms_by_ip(session, ip_hash, day_start) >= settings.sms_ip_daily_cap:
            raise SmsRateLimited(
                reason="ip_daily_cap", retry_after_s=int((next_day - now).total_seconds()) + 1
            )
    for old in await repo.active_sms_codes(session, terms, purpose):
        old.status = SmsCodeStatus.superseded
    deliver = True
    if purpose in (SmsPurpose.login, SmsPurpose.reset_password):
        deliver = await repo.user_by_phone(session, e164) is not None
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    active, keys = await repo.platform_index_keys(session)
    row_id = uuid.uuid4()
    row = SmsCode(
        id=row_id,
        phone=e164,
        purpose=purpose,
        code_hmac=_code_hmac(keys[active], active, row_id, code),
        ip_hash=ip_hash,
        attempts=0,
        status=SmsCodeStatus.active,
        delivered=deliver,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    session.add(row)
    await session.flush()
    if deliver:
        await provider.send(SmsMessage(e164, code, purpose), session=session)
    log.info("sms.code_issued", purpose=str(purpose), provider=provider.name, delivered=deliver)
    return CodeSent(mask_phone(e164), int(CODE_LIFETIME.total_seconds()), settings.sms_resend_cooldown_s)


async def verify_code(session: AsyncSession, *, phone_e164: str, purpose: SmsPurpose, code: str) -> SmsCode:
    """Consume the newest code of (phone, purpose), or raise a precise error. A wrong try counts
    (``keeps_writes``); the fifth kills the code."""
    terms = await repo.sms_phone_terms(session, phone_e164)
    row = await repo.latest_sms_code(session, terms, purpose, lock=True)
    now = utcnow()
    if row is None or row.status == SmsCodeStatus.superseded:
        raise SmsCodeMissing()
    if row.status == SmsCodeStatus.used:
        raise SmsCodeUsed()
    if row.status == SmsCodeStatus.dead or row.attempts >= CODE_MAX_WRONG:
        raise SmsCodeExhausted()
    if row.expires_at <= now:
        raise SmsCodeExpired()
    version_text, _, _ = row.code_hmac.partition(":")
    _, keys = await repo.platform_index_keys(session)
    key = keys.get(int(version_text.removeprefix("v") or 0))
    expected = _code_hmac(key, int(version_text[1:]), row.id, code.strip()) if key else ""
    if not (key and hmac.compare_digest(expected, row.code_hmac)):
        row.attempts += 1
        if row.attempts >= CODE_MAX_WRONG:
            row.status = SmsCodeStatus.dead
        await session.flush()
        log.info("sms.code_wrong", purpose=str(purpose), attempts=row.attempts)
        raise SmsCodeWrong(attempts_left=max(0, CODE_MAX_WRONG - row.attempts))
    row.status = SmsCodeStatus.used
    row.used_at = now
    await session.flush()
    return row


# --- registration --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistrationData:
    phone: str
    sms_code: str
    password: str
    company_name: str
    industry: str
    adult_or_guardian: bool
    policy_version: str
    purposes: Sequence[str] = ()
    company_authorised: bool = False
    # §七 1 (R-MIN-1): a registrant under 18 names a guardian, who consents with a code sent to their phone
    minor: bool = False
    guardian_name: str = ""
    guardian_phone: str = ""
    guardian_sms_code: str = ""


@dataclass(frozen=True, slots=True)
class LoggedIn:
    user: User
    membership: Membership
    auth: AuthSession
    token: str


@dataclass(frozen=True, slots=True)
class PendingGuardian:
    """A minor's account created without the guardian's consent: it cannot log in until the guardian
    consents (:func:`complete_guardian_consent`). ``reason``: the error code of the guardian's SMS
    code (``sms.code_missing`` when none was given)."""

    user: User
    guardian_phone_masked: str
    reason: str


@dataclass(frozen=True, slots=True)
class Guardian:
    name: str
    phone_e164: str


def _guardian_of(data: RegistrationData, registrant_e164: str) -> Guardian | None:
    """The guardian a minor named, checked like the registrant's own details; None for an adult."""
    if not data.minor:
        return None
    name = " ".join(data.guardian_name.split())
    if not name or not data.guardian_phone.strip():
        raise GuardianDetailsRequired()
    try:
        phone = normalise_mobile(data.guardian_phone)
    except InvalidPhone:
        raise InvalidGuardianPhone() from None
    if phone == registrant_e164:
        raise GuardianPhoneIsRegistrants()
    return Guardian(name[:100], phone)


async def _guardian_consents(
    session: AsyncSession, guardian: GuardianConsent, code: str, region: IpRegion, client: Client
) -> None:
    """Check the code sent to the guardian's phone (purpose guardian) and record the guardian's
    consent; a missing or wrong code raises its :class:`SmsCodeError` (a wrong try is counted)."""
    if not code.strip():
        raise SmsCodeMissing()
    await verify_code(session, phone_e164=guardian.guardian_phone, purpose=SmsPurpose.guardian, code=code)
    await policy.grant_guardian_consent(
        session,
        guardian,
        channel=Channel.web,
        ip=client.ip,
        ip_region=region.label,
        user_agent=client.user_agent,
    )


async def ensure_platform_defaults(session: AsyncSession) -> None:
    """Seed the default sales territory (``*``, the queue for private, unknown and foreign IPs).
    Idempotent; call it in the seeding transaction of ``huike run`` and of migrations."""
    if await repo.territory(session, DEFAULT_TERRITORY) is None:
        session.add(SalesTerritory(region=DEFAULT_TERRITORY, salesperson="default"))
        await session.flush()


async def _assign_salesperson(session: AsyncSession, tenant_id: uuid.UUID, region: IpRegion) -> SalesLead:
    found = None
    if region.territory:
        found = await repo.territory(session, region.territory)
    if found is None:
        found = await repo.territory(session, DEFAULT_TERRITORY)
    lead = SalesLead(
        tenant_id=tenant_id,
        country=region.country,
        province=region.province,
        city=region.city,
        territory_id=found.id if found else None,
        salesperson=found.salesperson if found else None,
    )
    session.add(lead)
    return lead


async def register(
    session: AsyncSession, settings: Settings, data: RegistrationData, client: Client
) -> LoggedIn | PendingGuardian:
    """Create the tenant, its creator and admin, the consent and registration rows, and a session.
    Inputs are all checked before the code is consumed; a failure after that rolls everything back.

    A minor (R-MIN-1) also names a guardian. With the right code from the guardian's phone the
    guardian's consent is recorded and the account is active; otherwise the account waits in
    ``pending_guardian``, without a session (:class:`PendingGuardian`)."""
    company = " ".join(data.company_name.split())
    if not company:
        raise CompanyNameRequired()
    if data.industry not in INDUSTRY_CODES:
        raise UnknownIndustry(industry=data.industry[:32])
    if data.adult_or_guardian is not True:
        raise AdultStatementRequired()
    if data.company_authorised is not True:
        raise CompanyAuthorisationRequired()
    e164 = normalise_mobile(data.phone)
    guardian = _guardian_of(data, e164)
    passwords.check_strength(data.password, phone_e164=e164)
    current = await policy.current_version(session)
    if data.policy_version != current.version:
        accepted = await policy.get_version(session, data.policy_version)
        if accepted.effective_date > current.effective_date:
            raise PolicyVersionNotCurrent(version=data.policy_version, current=current.version)
        raise PolicyVersionStale(version=data.policy_version, current=current.version)
    await verify_code(session, phone_e164=e164, purpose=SmsPurpose.register, code=data.sms_code)
    if await repo.user_by_phone(session, e164) is not None:
        raise PhoneAlreadyRegistered()
    now = utcnow()
    region = lookup_region(settings, client.ip)
    agent = parse_user_agent(client.user_agent)
    tenant = Tenant(name=company[:100])
    session.add(tenant)
    user = User(
        phone=e164,
        password_hash=passwords.hash_password(data.password),
        password_changed_at=now,
        status=UserStatus.active if guardian is None else UserStatus.pending_guardian,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # the same phone registered at the same moment
        raise PhoneAlreadyRegistered() from None
    await ensure_keys(session, tenant.id)
    member = Membership(tenant_id=tenant.id, user_id=user.id, role=Role.creator)
    session.add(member)
    session.add(
        Registration(
            tenant_id=tenant.id,
            user_id=user.id,
            industry=data.industry,
            device_type=agent.device_type,
            os_family=agent.os_family,
            browser_family=agent.browser_family,
            ip=client.ip,
            ip_region=region.label,
            adult_or_guardian=True,
            company_authorised=True,
            policy_version=current.version,
        )
    )
    lead = await _assign_salesperson(session, tenant.id, region)
    await policy.accept_policy(
        session,
        policy.ConsentSubject.account_holder(user.id, tenant.id),
        version=data.policy_version,
        purposes=data.purposes,
        method=ConsentMethod.agreement,
        channel=Channel.web,
        ip=client.ip,
        ip_region=region.label,
        user_agent=client.user_agent,
    )
    pending: str | None = None
    if guardian is not None:
        row = await policy.request_guardian_consent(
            session,
            policy.ConsentSubject.account_holder(user.id, tenant.id),
            guardian_name=guardian.name,
            guardian_phone_e164=guardian.phone_e164,
        )
        try:
            await _guardian_consents(session, row, data.guardian_sms_code, region, client)
            user.status = UserStatus.active
        except SmsCodeError as exc:
            pending = exc.code
    ctx = TenantContext(tenant.id, user.id)
    await record(
        session,
        ctx,
        "account.registered",
        object_type="tenant",
        object_id=tenant.id,
        request=client.request,
        ip_region=region.label,
        details={
            "industry": data.industry,
            "assigned": lead.salesperson is not None,
            "minor": guardian is not None,
            "pending_guardian": pending is not None,
        },
    )
    if guardian is not None and pending is not None:
        log.info("account.registered_pending_guardian", tenant_id=str(tenant.id), reason=pending)
        return PendingGuardian(user, mask_phone(guardian.phone_e164), pending)
    auth, token = await _start(session, settings, tenant.id, user.id, SessionMethod.registration, client)
    log.info("account.registered", tenant_id=str(tenant.id), industry=data.industry, region=region.label)
    return LoggedIn(user, member, auth, token)


async def complete_guardian_consent(
    session: AsyncSession, settings: Settings, *, phone: str, guardian_code: str, client: Client
) -> None:
    """The guardian of a ``pending_guardian`` account (found by the registrant's phone) consents with
    the code sent to the guardian's phone (purpose guardian); the account becomes active.

    Until the code is verified every refusal is the same :class:`GuardianConsentFailed`: an unknown
    phone, an account that is not waiting (active, or its guardian consented already), and a
    missing, wrong, expired, used or exhausted code, so the endpoint tells nobody which phones have
    an account waiting (like registration and login). A wrong code still counts against the
    guardian's code (the error keeps its writes); the log says which case it was."""
    e164 = normalise_mobile(phone)
    user = await repo.user_by_phone(session, e164)
    waiting = user is not None and user.status == UserStatus.pending_guardian
    guardian = await policy.guardian_consent_of(session, user.id, lock=True) if user and waiting else None
    if user is None or guardian is None:
        log.info("account.guardian_consent_refused", reason="not_pending")
        raise GuardianConsentFailed()
    region = lookup_region(settings, client.ip)
    try:
        await _guardian_consents(session, guardian, guardian_code, region, client)
    except SmsCodeError as exc:
        log.info("account.guardian_consent_refused", reason=exc.code)
        raise GuardianConsentFailed() from None
    user.status = UserStatus.active
    await record(
        session,
        TenantContext(guardian.tenant_id, user.id) if guardian.tenant_id else None,
        "account.guardian_consented",
        object_type="user",
        object_id=user.id,
        request=client.request,
        ip_region=region.label,
        actor=Actor.pseudonymous(
            ActorType.user, await repo.phone_pseudonym(session, guardian.guardian_phone)
        ),
    )
    log.info("account.guardian_consented", user_id=str(user.id))


async def _start(
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    method: str,
    client: Client,
) -> tuple[AuthSession, str]:
    return await start_session(
        session,
        tenant_id,
        user_id,
        method=method,
        device=device_info(settings, client),
        idle_timeout=timedelta(seconds=settings.session_idle_timeout_s),
        lifetime=timedelta(seconds=settings.session_absolute_lifetime_s),
        replaces=client.session_token,
    )


# --- login ---------------------------------------------------------------------------------------


@dataclass
class Guard:
    """The throttles of one login attempt: its phone and its IP."""

    rows: list[LoginThrottle]
    phone_key: str

    def retry_after(self, now: datetime) -> int:
        locked = [r.locked_until for r in self.rows if r.locked_until is not None and r.locked_until > now]
        return int((max(locked) - now).total_seconds()) + 1 if locked else 0


async def guard_of(session: AsyncSession, phone_e164: str, client: Client) -> Guard:
    phone_key = await repo.phone_pseudonym(session, phone_e164)
    rows = [await repo.throttle(session, ThrottleKind.phone, phone_key)]
    if client.ip:
        rows.append(
            await repo.throttle(session, ThrottleKind.ip, await repo.pseudonym(session, "ip", client.ip))
        )
    return Guard(rows, phone_key)


async def refuse_if_locked(session: AsyncSession, guard: Guard, method: str, client: Client) -> None:
    now = utcnow()
    wait = guard.retry_after(now)
    if wait:
        await record(
            session,
            None,
            "auth.login.locked",
            object_type="user",
            object_id=None,
            result=AuditResult.denied,
            request=client.request,
            actor=Actor.pseudonymous(ActorType.user, guard.phone_key),
            details={"method": method, "retry_after_s": wait},
        )
        log.info("auth.login_locked", method=method, retry_after_s=wait)
        raise AccountLocked(retry_after_s=wait)


async def _fail(session: AsyncSession, guard: Guard, method: str, client: Client, reason: str) -> None:
    await count_failure(session, guard, method, client, reason)
    raise InvalidCredentials()


async def count_failure(
    session: AsyncSession, guard: Guard, method: str, client: Client, reason: str
) -> None:
    """Count a failed login (or a wrong current password) on the phone's and the IP's throttles, lock
    them past the threshold, and audit both; the caller raises an error that keeps these writes."""
    now = utcnow()
    newly_locked: list[tuple[str, int]] = []
    for row in guard.rows:
        if row.last_failure_at is not None and now - row.last_failure_at > FAILURE_WINDOW:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        threshold = LOCK_THRESHOLD[ThrottleKind(row.kind)]
        if row.failures >= threshold:
            seconds = min(
                LOCK_CAP.total_seconds(), LOCK_BASE.total_seconds() * 2 ** (row.failures - threshold)
            )
            row.locked_until = now + timedelta(seconds=seconds)
            newly_locked.append((row.kind, int(seconds)))
    await session.flush()
    actor = Actor.pseudonymous(ActorType.user, guard.phone_key)
    await record(
        session,
        None,
        "auth.login.failed",
        object_type="user",
        object_id=None,
        result=AuditResult.failure,
        request=client.request,
        actor=actor,
        details={"method": method, "reason": reason},
    )
    for kind, seconds in newly_locked:
        await record(
            session,
            None,
            "auth.login.locked",
            object_type="user",
            object_id=None,
            result=AuditResult.denied,
            request=client.request,
            actor=actor,
            details={"method": method, "scope": kind, "lock_s": seconds},
        )
    log.info("auth.login_failed", method=method, reason=reason, locked=bool(newly_locked))


async def _refuse_without_console(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, method: str, client: Client
) -> None:
    """Only a role holding the web console app (``app.console``) signs in to the console."""
    from huike.permission.service import resolve  # it imports this module

    ctx = await resolve(session, TenantContext(tenant_id, user_id))
    if ctx.can(Permission.app_console):
        return
    await record(
        session,
        TenantContext(tenant_id, user_id),
        "auth.login.failed",
        object_type="user",
        object_id=user_id,
        result=AuditResult.denied,
        request=client.request,
        details={"method": method, "reason": "console_not_allowed"},
    )
    log.info("auth.login_refused", method=method, reason="console_not_allowed")
    raise ConsoleNotAllowed()


async def _succeed(
    session: AsyncSession, settings: Settings, user: User, method: str, client: Client, guard: Guard | None
) -> LoggedIn:
    if user.status == UserStatus.pending_guardian:
        raise AccountPendingGuardian()
    if user.status != UserStatus.active:
        raise AccountDisabled()
    memberships = await repo.memberships_of(session, user.id)
    if not memberships:
        raise NoTenant()
    member = memberships[0]
    await _refuse_without_console(session, member.tenant_id, user.id, method, client)
    if guard is not None:
        phone_row = guard.rows[0]
        phone_row.failures = 0
        phone_row.locked_until = None
    auth, token = await _start(session, settings, member.tenant_id, user.id, method, client)
    await record(
        session,
        TenantContext(member.tenant_id, user.id),
        "auth.login.succeeded",
        object_type="user",
        object_id=user.id,
        request=client.request,
        ip_region=auth.ip_region,
        details={"method": method, "session": str(auth.id)},
    )
    log.info("auth.login_succeeded", method=method, user_id=str(user.id))
    return LoggedIn(user, member, auth, token)


async def login_with_password(
    session: AsyncSession, settings: Settings, *, phone: str, password: str, client: Client
) -> LoggedIn:
    e164 = normalise_mobile(phone)
    guard = await guard_of(session, e164, client)
    await refuse_if_locked(session, guard, SessionMethod.password, client)
    user = await repo.user_by_phone(session, e164)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or user.password_hash is None or not ok:
        await _fail(session, guard, SessionMethod.password, client, "invalid_credentials")
        raise AssertionError("unreachable")  # pragma: no cover
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return await _succeed(session, settings, user, SessionMethod.password, client, guard)


async def login_with_sms(
    session: AsyncSession, settings: Settings, *, phone: str, code: str, client: Client
) -> LoggedIn:
    e164 = normalise_mobile(phone)
    guard = await guard_of(session, e164, client)
    await refuse_if_locked(session, guard, SessionMethod.sms, client)
    await verify_code(session, phone_e164=e164, purpose=SmsPurpose.login, code=code)
    user = await repo.user_by_phone(session, e164)
    if user is None:
        await _fail(session, guard, SessionMethod.sms, client, "invalid_credentials")
        raise AssertionError("unreachable")  # pragma: no cover
    return await _succeed(session, settings, user, SessionMethod.sms, client, guard)


async def reset_password(
    session: AsyncSession, *, phone: str, code: str, new_password: str, client: Client
) -> None:
    """Set a new password with an SMS code; every session of the account ends."""
    from huike.security.sessions import revoke_user_sessions

    e164 = normalise_mobile(phone)
    passwords.check_strength(new_password, phone_e164=e164)
    await verify_code(session, phone_e164=e164, purpose=SmsPurpose.reset_password, code=code)
    user = await repo.user_by_phone(session, e164)
    if user is None:
        raise InvalidCredentials()
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    revoked = await revoke_user_sessions(session, user.id)
    guard = await guard_of(session, e164, client)
    guard.rows[0].failures = 0
    guard.rows[0].locked_until = None
    await record(
        session,
        None,
        "auth.password_reset",
        object_type="user",
        object_id=user.id,
        request=client.request,
        actor=Actor.user(user.id),
        details={"sessions_revoked": revoked},
    )
    log.info("auth.password_reset", user_id=str(user.id), sessions_revoked=revoked)


# --- WeCom QR login ------------------------------------------------------------------------------


def wecom_login_base(settings: Settings) -> str:
    if settings.wecom_login_url:
        return settings.wecom_login_url
    if settings.wecom_base_url:  # the emulator: its login page sits beside its /cgi-bin
        base = settings.wecom_base_url.rstrip("/").removesuffix("/cgi-bin")
        return f"{base}/wwlogin/sso/login"
    return WECOM_LOGIN_URL


def wecom_redirect_uri(settings: Settings) -> str:
    return f"{settings.public_base_url.rstrip('/')}/api/v1/auth/wecom/callback"


async def wecom_login_url(session: AsyncSession, settings: Settings, *, corp_id: str, device_id: str) -> str:
    """A single-use ``state`` bound to the browser's device cookie, and WeCom's login URL with it."""
    found = await repo.connection_by_corp(session, corp_id)
    if found is None:
        raise WeComLoginUnavailable()
    tenant_id, agent_id = found
    state = secrets.token_urlsafe(24)
    session.add(
        WeComLoginState(
            tenant_id=tenant_id,
            state_hash=hashlib.sha256(state.encode()).hexdigest(),
            device_hash=hashlib.sha256(device_id.encode()).hexdigest(),
            corp_id=corp_id,
            expires_at=utcnow() + WECOM_STATE_LIFETIME,
        )
    )
    await session.flush()
    query = urlencode(
        {
            "login_type": "CorpApp",
            "appid": corp_id,
            "agentid": str(agent_id),
            "redirect_uri": wecom_redirect_uri(settings),
            "state": state,
        }
    )
    base = wecom_login_base(settings)
    return f"{base}{'&' if urlsplit(base).query else '?'}{query}"


async def login_with_wecom(
    session: AsyncSession,
    settings: Settings,
    *,
    code: str,
    state: str,
    device_id: str | None,
    client: Client,
) -> LoggedIn:
    """The callback: check the state (single use, this browser, 300 s), ask WeCom who scanned, and
    log in the account linked to (corp id, userid). An unknown userid never creates an account."""
    from huike.wecom.client import WeComApp
    from huike.wecom.runtime import get_wecom_runtime
    from huike.wecom.service import access_connection

    row = await repo.wecom_state(session, hashlib.sha256(state.encode()).hexdigest())
    now = utcnow()
    if row is None or row.used_at is not None:
        raise WeComStateInvalid(reason="unknown_or_used")
    row.used_at = now
    await session.flush()
    if row.expires_at <= now:
        raise WeComStateInvalid(reason="expired")
    if not device_id or not hmac.compare_digest(
        row.device_hash, hashlib.sha256(device_id.encode()).hexdigest()
    ):
        raise WeComStateInvalid(reason="other_browser")
    connection = await access_connection(session, TenantContext.system(row.tenant_id))
    wecom = get_wecom_runtime().client(
        WeComApp(connection.corp_id, connection.app_secret, connection.agent_id)
    )
    identity = await wecom.auth_getuserinfo(code)
    found = await _member_for_login(session, row.tenant_id, identity.userid, client)
    user = await repo.user_by_wecom(session, row.corp_id, identity.userid) if identity.userid else None
    if (
        found is not None
        and found.invitation_pending
        and (user is None or await repo.membership(session, row.tenant_id, user.id) is None)
    ):
        user = await _activate_member(
            session, row.tenant_id, row.corp_id, identity.userid, user, found, client
        )
    if user is None or await repo.membership(session, row.tenant_id, user.id) is None:
        await record(
            session,
            TenantContext.system(row.tenant_id),
            "auth.login.failed",
            object_type="user",
            object_id=None,
            result=AuditResult.failure,
            request=client.request,
            details={"method": SessionMethod.wecom, "reason": "not_linked"},
        )
        raise WeComNotLinked()
    if user.status == UserStatus.pending_guardian:
        raise AccountPendingGuardian()
    if user.status != UserStatus.active:
        raise AccountDisabled()
    if found is not None:
        from huike.member.service import link_user

        await link_user(session, found, user.id)
    await _remember_wecom_basics(session, wecom, row.tenant_id, user.id, identity.userid)
    await _refuse_without_console(session, row.tenant_id, user.id, SessionMethod.wecom, client)
    auth, token = await _start(session, settings, row.tenant_id, user.id, SessionMethod.wecom, client)
    member = await repo.membership(session, row.tenant_id, user.id)
    assert member is not None
    await record(
        session,
        TenantContext(row.tenant_id, user.id),
        "auth.login.succeeded",
        object_type="user",
        object_id=user.id,
        request=client.request,
        ip_region=auth.ip_region,
        details={"method": SessionMethod.wecom, "session": str(auth.id)},
    )
    log.info("auth.login_succeeded", method=SessionMethod.wecom, user_id=str(user.id))
    return LoggedIn(user, member, auth, token)


async def _remember_wecom_basics(
    session: AsyncSession, wecom: WeComClient, tenant_id: uuid.UUID, user_id: uuid.UUID, userid: str
) -> None:
    """At the authorised member's own login, ask WeCom for their avatar and gender (§一（二）5.1, shown
    on the profile). WeCom gives them only to apps created before 2022-06-20; when it withholds them,
    or the call fails, nothing is stored and the login goes on."""
    from huike.account.profile import remember_wecom_basics
    from huike.core.errors import AppError

    try:
        detail = await wecom.user_get(userid)
    except AppError as exc:
        log.info("auth.wecom_profile_unavailable", error=exc.code)
        return
    await remember_wecom_basics(session, tenant_id, user_id, avatar=detail.avatar, gender=detail.gender)


async def link_wecom(session: AsyncSession, user: User, *, corp_id: str, userid: str) -> None:
    """Link a WeCom identity to an account (invited-member activation builds on this)."""
    user.wecom_corp_id = corp_id
    user.wecom_userid = userid
    await session.flush()


# --- members of a WeCom corp: activation and access ------------------------------------------------


async def _member_for_login(
    session: AsyncSession, tenant_id: uuid.UUID, userid: str, client: Client
) -> MemberForLogin | None:
    """The synced member behind a WeCom login; one who left or is outside the app's visibility
    scope is refused at once, with an audit row (R-WX-3)."""
    from huike.member.errors import MemberOutOfScope
    from huike.member.service import login_member

    if not userid:
        return None
    found = await login_member(session, tenant_id, userid)
    if found is not None and not found.member.can_access:
        await record(
            session,
            TenantContext.system(tenant_id),
            "auth.login.failed",
            object_type="member",
            object_id=found.member.id,
            result=AuditResult.denied,
            request=client.request,
            details={"method": SessionMethod.wecom, "reason": "member_out_of_scope"},
        )
        log.info("auth.login_failed", method=SessionMethod.wecom, reason="member_out_of_scope")
        raise MemberOutOfScope()
    return found


async def _activate_member(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    corp_id: str,
    userid: str,
    user: User | None,
    found: MemberForLogin,
    client: Client,
) -> User:
    """R-WX-2: a WeCom QR login by an invited UserID activates the invitation: the account is created
    (without a phone) if the WeCom identity has none, linked, and given the invited role."""
    from huike.member.errors import InvitationExpired
    from huike.member.service import activate

    if not found.invitation_valid:
        await record(
            session,
            TenantContext.system(tenant_id),
            "auth.login.failed",
            object_type="member",
            object_id=found.member.id,
            result=AuditResult.failure,
            request=client.request,
            details={"method": SessionMethod.wecom, "reason": "invitation_expired"},
        )
        raise InvitationExpired()
    if user is None:
        user = User(phone=None, status=UserStatus.active)
        session.add(user)
        await session.flush()
        await link_wecom(session, user, corp_id=corp_id, userid=userid)
    role = await activate(session, found, user.id)
    session.add(Membership(tenant_id=tenant_id, user_id=user.id, role=role))
    await session.flush()
    log.info("account.member_activated", tenant_id=str(tenant_id), user_id=str(user.id))
    return user


async def role_of(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """The user's role in the tenant (creator, admin, member), or None."""
    found = await repo.membership(session, tenant_id, user_id)
    return found.role if found else None


async def session_phone(session: AsyncSession, token: str | None) -> str | None:
    """The phone of the user signed in with ``token`` (the development banner's own-phone lookup)."""
    auth = await resolve_session(session, token)
    user = await repo.user_by_id(session, auth.user_id) if auth and auth.user_id else None
    return user.phone if user else None


async def roles_of(
    session: AsyncSession, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """:func:`role_of` for several users at once (those without a membership are left out)."""
    return {m.user_id: str(m.role) for m in await repo.memberships_in(session, tenant_id, user_ids)}


async def member_accounts(
    session: AsyncSession, *, user_id: uuid.UUID | None, corp_id: str, userid: str
) -> set[uuid.UUID]:
    """The Huike accounts of a WeCom member: the one linked to the member row and the one linked to
    the member's WeCom identity (usually the same, or none before activation)."""
    user_ids = {user_id} if user_id is not None else set()
    linked = await repo.user_by_wecom(session, corp_id, userid)
    if linked is not None:
        user_ids.add(linked.id)
    return user_ids


async def revoke_member_sessions(
    session: AsyncSession, tenant_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> int:
    """End every live session in ``tenant_id`` of the accounts of a member who lost access
    (:func:`member_accounts`). Returns how many."""
    from sqlalchemy import update

    wanted = set(user_ids)
    if not wanted:
        return 0
    result = await session.execute(
        update(AuthSession)
        .where(
            AuthSession.tenant_id == tenant_id,
            AuthSession.user_id.in_(wanted),
            AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def relink_wecom(session: AsyncSession, user_id: uuid.UUID, *, corp_id: str, userid: str) -> None:
    """Follow a WeCom UserID change (change_contact NewUserID) on the linked account."""
    user = await repo.user_by_id(session, user_id)
    if user is not None and user.wecom_corp_id == corp_id:
        await link_wecom(session, user, corp_id=corp_id, userid=userid)


# --- the logged-in user --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Me:
    user: User | None
    tenant: Tenant | None
    role: RoleRef | None
    auth: AuthSession
    policy_version_required: str | None
    permissions: list[str]


async def me(session: AsyncSession, auth: AuthSession) -> Me:
    user = await repo.user_by_id(session, auth.user_id) if auth.user_id else None
    tenant = await session.get(Tenant, auth.tenant_id)
    from huike.permission.service import effective_access  # it imports this module

    role: RoleRef | None = None
    permissions: list[str] = []
    required = None
    if auth.user_id is not None:
        role, permissions = await effective_access(session, TenantContext(auth.tenant_id, auth.user_id))
        try:
            pending = await policy.requires_acceptance(
                session, policy.ConsentSubject.account_holder(auth.user_id, auth.tenant_id)
            )
        except NoCurrentPolicy:
            pending = None
        required = pending.version if pending else None
    return Me(user, tenant, role, auth, required, permissions)
