"""Public privacy pages (no login), their JSON twins, and the consent API of a logged-in subject.

Pages: ``/privacy/policy``, ``/privacy/policy/{version}``, ``/privacy/third-parties``; zh-CN unless
``?lang=en`` or an English Accept-Language asks for English (then the translation if there is one,
otherwise the Chinese text with a notice that it prevails, §十 1). Each display of a policy version is
recorded as a served notice (F6): a row for a logged-in reader, an anonymous per-day count otherwise.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import SQLAlchemyError

from huike.core.errors import error_responses
from huike.core.i18n import current_locale
from huike.core.routing import SessionDep, make_router
from huike.core.tenancy import TenantContext
from huike.privacy.egress import public_third_parties
from huike.privacy.policy import service
from huike.privacy.policy.errors import PolicyAcceptanceRequired, PolicyVersionNotFound
from huike.privacy.policy.models import ChangeClass, Channel, PolicyVersion
from huike.privacy.policy.render import (
    Lang,
    VersionView,
    render_not_found_page,
    render_policy_page,
    render_third_parties_page,
)
from huike.privacy.policy.schemas import (
    AcceptanceRead,
    ConsentAccept,
    ConsentEventRead,
    ConsentHistory,
    ConsentWithdraw,
    PolicyPurposeRead,
    PolicyRead,
    PolicyVersionList,
    PolicyVersionRead,
    PurposeStateRead,
    ThirdPartyList,
    ThirdPartyRead,
)
from huike.security.sessions import SESSION_COOKIE, CurrentTenant, resolve_session

log = structlog.get_logger(__name__)

pages = make_router(prefix="/privacy", tag="privacy-pages", include_in_schema=False)
router = make_router(prefix="/api/v1/privacy", tag="privacy", responses=error_responses(404, 422))

LangQuery = Annotated[str | None, Query(max_length=10, description="zh-CN or en")]

_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def page_language(lang: str | None) -> Lang:
    """``?lang=`` wins; otherwise the request's locale (negotiated from Accept-Language)."""
    if lang:
        lowered = lang.lower()
        if lowered.startswith("en"):
            return "en"
        if lowered.startswith("zh"):
            return "zh-CN"
    return current_locale.get()


def _html(body: str, lang: Lang, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={**_PAGE_HEADERS, "Content-Language": lang})


async def _reader(request: Request, session: SessionDep) -> service.ConsentSubject | None:
    """The logged-in reader, if any (the pages need no login)."""
    auth = await resolve_session(session, request.cookies.get(SESSION_COOKIE))
    if auth is None or auth.user_id is None:
        return None
    return service.ConsentSubject.account_holder(auth.user_id, auth.tenant_id)


async def _served(
    session: SessionDep, version: PolicyVersion, channel: Channel, reader: service.ConsentSubject | None
) -> None:
    """Record the served notice without ever failing the page (a SAVEPOINT keeps the read intact)."""
    try:
        async with session.begin_nested():
            await service.record_notice(session, version, channel=channel, subject=reader)
    except SQLAlchemyError as exc:
        log.warning("privacy.notice_not_recorded", error_type=type(exc).__name__)


def _view(version: PolicyVersion) -> VersionView:
    return VersionView(
        version=version.version,
        text_zh=version.text_zh,
        text_hash=version.text_hash,
        effective_date=version.effective_date.isoformat(),
        change_class=version.change_class,
        published_at=version.published_at.isoformat() if version.published_at else "",
        text_en=version.text_en,
    )


async def _policy_page(
    request: Request, session: SessionDep, version: PolicyVersion, lang: Lang
) -> HTMLResponse:
    labels = [v.version for v in await service.list_versions(session)]
    await _served(session, version, Channel.web, await _reader(request, session))
    return _html(render_policy_page(_view(version), lang, labels), lang)


@pages.get("/policy", response_class=HTMLResponse)
async def policy_page(request: Request, session: SessionDep, lang: LangQuery = None) -> HTMLResponse:
    return await _policy_page(request, session, await service.current_version(session), page_language(lang))


@pages.get("/policy/{version}", response_class=HTMLResponse)
async def policy_version_page(
    request: Request, session: SessionDep, version: str, lang: LangQuery = None
) -> HTMLResponse:
    language = page_language(lang)
    try:
        row = await service.get_version(session, version[:32])
    except PolicyVersionNotFound as exc:
        return _html(render_not_found_page(language, version[:32], exc.code), language, status=404)
    return await _policy_page(request, session, row, language)


@pages.get("/third-parties", response_class=HTMLResponse)
async def third_parties_page(lang: LangQuery = None) -> HTMLResponse:
    language = page_language(lang)
    return _html(render_third_parties_page(public_third_parties(), language), language)


# --- JSON twins ---------------------------------------------------------------------------------


def _read(version: PolicyVersion) -> PolicyRead:
    return PolicyRead(
        version=version.version,
        text_hash=version.text_hash,
        effective_date=version.effective_date,
        change_class=ChangeClass(version.change_class),
        published_at=version.published_at,
        summary_zh=version.summary_zh,
        summary_en=version.summary_en,
        has_translation=version.text_en is not None,
        text_zh=version.text_zh,
        text_en=version.text_en,
        purposes=[PolicyPurposeRead(**p) for p in version.purposes],
        third_parties=[ThirdPartyRead(**row) for row in version.third_parties],
    )


@router.get("/policy", response_model=PolicyRead, responses=error_responses(503))
async def current_policy(request: Request, session: SessionDep) -> PolicyRead:
    version = await service.current_version(session)
    await _served(session, version, Channel.api, await _reader(request, session))
    return _read(version)


@router.get("/policy/versions", response_model=PolicyVersionList, responses=error_responses(503))
async def policy_versions(session: SessionDep) -> PolicyVersionList:
    current = await service.current_version(session)
    items = []
    for row in reversed(await service.list_versions(session)):
        item = PolicyVersionRead.model_validate(row)
        item.has_translation = row.text_en is not None
        items.append(item)
    return PolicyVersionList(current=current.version, items=items)


@router.get("/policy/versions/{version}", response_model=PolicyRead)
async def policy_version(request: Request, session: SessionDep, version: str) -> PolicyRead:
    row = await service.get_version(session, version[:32])
    await _served(session, row, Channel.api, await _reader(request, session))
    return _read(row)


@router.get("/third-parties", response_model=ThirdPartyList)
async def third_parties() -> ThirdPartyList:
    return ThirdPartyList(items=[ThirdPartyRead(**row) for row in public_third_parties()])


# --- consent API (logged in) --------------------------------------------------------------------


async def _history(session: SessionDep, subject: service.ConsentSubject) -> ConsentHistory:
    current = await service.current_version(session)
    required = await service.requires_acceptance(session, subject)
    pending = await service.pending_acceptance(session, subject)
    effective = await service.effective_version_for(session, subject)
    acceptances, events = await service.history(session, subject)
    return ConsentHistory(
        current_version=current.version,
        acceptance_required=required.version if required else None,
        acceptance_pending=pending.version if pending else None,
        effective_version=effective.version if effective else None,
        purposes=[PurposeStateRead(**p) for p in await service.consent_overview(session, subject)],
        acceptances=[AcceptanceRead.model_validate(a) for a in acceptances],
        events=[ConsentEventRead.model_validate(e) for e in events],
    )


@router.get("/consents", response_model=ConsentHistory, responses=error_responses(401, 403, 503))
async def my_consents(session: SessionDep, ctx: CurrentTenant) -> ConsentHistory:
    return await _history(session, service.ConsentSubject.from_context(ctx))


@router.post(
    "/consents", response_model=ConsentHistory, status_code=201, responses=error_responses(401, 403, 409, 503)
)
async def accept(
    session: SessionDep, ctx: CurrentTenant, body: ConsentAccept, request: Request
) -> ConsentHistory:
    """Accept the version in effect and grant the listed purposes (R-LANG-1: the zh-CN hash is stored)."""
    subject = service.ConsentSubject.from_context(ctx)
    await service.accept_policy(
        session,
        subject,
        version=body.version,
        purposes=body.purposes,
        method=body.method,
        channel=Channel.web,
        ip=request.client.host if request.client else None,
        ip_region=None,  # filled once the offline IP-region lookup exists (R-GEO-1)
        user_agent=request.headers.get("user-agent"),
    )
    return await _history(session, subject)


@router.post(
    "/consents/withdraw", response_model=ConsentHistory, responses=error_responses(401, 403, 409, 503)
)
async def withdraw(session: SessionDep, ctx: CurrentTenant, body: ConsentWithdraw) -> ConsentHistory:
    subject = service.ConsentSubject.from_context(ctx)
    await service.withdraw_consent(session, subject, body.purpose, channel=Channel.web)
    return await _history(session, subject)


# --- the gate for authenticated routes ----------------------------------------------------------


async def require_policy_acceptance(session: SessionDep, ctx: CurrentTenant) -> TenantContext:
    """Dependency for authenticated routes: 403 ``privacy.policy_acceptance_required`` (with the
    version, its hash and effective date in details) while a material version is unaccepted.
    System contexts pass."""
    if ctx.user_id is None or ctx.is_system:
        return ctx
    pending = await service.requires_acceptance(session, service.ConsentSubject.from_context(ctx))
    if pending is not None:
        raise PolicyAcceptanceRequired(
            version=pending.version,
            policy_hash=pending.text_hash,
            effective_date=pending.effective_date.isoformat(),
        )
    return ctx


PolicyAccepted = Annotated[TenantContext, Depends(require_policy_acceptance)]
