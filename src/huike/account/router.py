"""The accounts API: registration, SMS codes, login, password reset, WeCom QR login, the current
user and their sessions; and, outside production, the development banner's latest SMS code.

Unauthenticated endpoints carry no CSRF token (there is no session to forge a request for); every
unsafe method of a logged-in user needs ``X-CSRF-Token`` (see ``huike.security.sessions``). The auth
endpoints are outside the policy-acceptance gate: they are how a user gets past it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from email.message import Message
from email.parser import HeaderParser
from typing import Annotated, TypeVar

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from huike.account import profile, service
from huike.account.errors import AvatarMissing, AvatarTooLarge
from huike.account.schemas import (
    CurrentUserRead,
    DevSmsCode,
    GuardianConsentIn,
    IndustryList,
    IndustryRead,
    PasswordChanged,
    PasswordChangeIn,
    PasswordLoginIn,
    PasswordResetIn,
    PhoneChanged,
    PhoneChangeIn,
    PhoneTicketRead,
    PhoneVerifyCurrentIn,
    ProfileRead,
    ProfileUpdate,
    RegisterIn,
    RegistrationPending,
    SessionList,
    SessionRead,
    SmsCodeRequest,
    SmsCodeSent,
    SmsLoginIn,
    TenantRef,
)
from huike.account.sms import ConsoleSmsProvider, SmsProvider, mask_phone, provider_from_settings
from huike.config import Settings
from huike.core.db import writes_on_get
from huike.core.errors import AppError, NotFound, error_response, error_responses
from huike.core.routing import SessionDep, make_router
from huike.security import sessions
from huike.security.sessions import SESSION_COOKIE, CurrentSession, CurrentTenant

router = make_router(prefix="/api/v1/auth", tag="auth", responses=error_responses(401, 422))
dev = make_router(prefix="/api/v1/dev", tag="dev", responses=error_responses(404))

T = TypeVar("T")
_PROVIDER = "huike_sms_provider"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def sms_provider(request: Request) -> SmsProvider:
    """The app's SMS provider, made from settings on first use (tests may set ``app.state``)."""
    provider: SmsProvider | None = getattr(request.app.state, _PROVIDER, None)
    if provider is None:
        provider = provider_from_settings(settings_of(request))
        setattr(request.app.state, _PROVIDER, provider)
    return provider


async def answering(call: Awaitable[T]) -> T | JSONResponse:
    """Run ``call``; an error that keeps its writes is answered after the commit (see errors.py)."""
    try:
        return await call
    except AppError as exc:
        if getattr(exc, "keeps_writes", False):
            return error_response(exc.status_code, exc.code, exc.details)
        raise


def _client(request: Request) -> service.Client:
    return service.Client.of(request, request.cookies.get(SESSION_COOKIE))


def _me_read(found: service.Me) -> CurrentUserRead:
    user = found.user
    return CurrentUserRead(
        user_id=user.id if user else None,
        phone_masked=mask_phone(user.phone) if user and user.phone else None,
        tenant=TenantRef(id=found.auth.tenant_id, name=found.tenant.name if found.tenant else None),
        role=found.role,
        permissions=found.permissions,
        wecom_linked=bool(user and user.wecom_userid),
        session_id=found.auth.id,
        policy_acceptance_required=found.policy_version_required,
    )


async def _logged_in(
    session: SessionDep, request: Request, response: Response, result: service.LoggedIn
) -> CurrentUserRead:
    sessions.set_session_cookies(response, result.token, settings_of(request))
    return _me_read(await service.me(session, result.auth))


@router.get("/industries", response_model=IndustryList)
async def industries() -> IndustryList:
    return IndustryList(items=[IndustryRead(code=i.code, zh=i.zh, en=i.en) for i in service.INDUSTRIES])


@router.post("/sms-codes", response_model=SmsCodeSent, status_code=202, responses=error_responses(429, 502))
async def send_sms_code(session: SessionDep, request: Request, body: SmsCodeRequest) -> SmsCodeSent:
    """Send a 6-digit code (5 minutes; 60 s between sends; daily caps per phone and IP). Known and
    unknown numbers get the same answer."""
    sent = await service.send_code(
        session,
        settings_of(request),
        sms_provider(request),
        phone=body.phone,
        purpose=body.purpose,
        client=_client(request),
    )
    return SmsCodeSent(
        phone_masked=sent.phone_masked, expires_in_s=sent.expires_in_s, resend_after_s=sent.resend_after_s
    )


@router.post(
    "/register",
    response_model=CurrentUserRead,
    status_code=201,
    responses={
        202: {
            "model": RegistrationPending,
            "description": "A minor registered without the guardian's consent: pending_guardian, no session.",
        },
        **error_responses(400, 404, 409, 503),
    },
)
async def register(
    session: SessionDep, request: Request, response: Response, body: RegisterIn
) -> CurrentUserRead | JSONResponse:
    """Trial registration: creates the company (tenant) with the registrant as its creator and admin,
    records the policy acceptance, and logs in. A registrant under 18 (``minor``) names a guardian;
    without the right code from the guardian's phone the account waits for the guardian (202)."""
    data = service.RegistrationData(
        phone=body.phone,
        sms_code=body.sms_code,
        password=body.password,
        company_name=body.company_name,
        industry=body.industry,
        adult_or_guardian=body.adult_or_guardian,
        company_authorised=body.company_authorised,
        policy_version=body.policy_version,
        purposes=body.purposes,
        minor=body.minor,
        guardian_name=body.guardian_name,
        guardian_phone=body.guardian_phone,
        guardian_sms_code=body.guardian_sms_code,
    )
    result = await answering(service.register(session, settings_of(request), data, _client(request)))
    if isinstance(result, JSONResponse):
        return result
    if isinstance(result, service.PendingGuardian):
        pending = RegistrationPending(
            status=str(result.user.status),
            phone_masked=mask_phone(result.user.phone or ""),
            guardian_phone_masked=result.guardian_phone_masked,
            reason=result.reason,
        )
        return JSONResponse(pending.model_dump(), status_code=202)
    return await _logged_in(session, request, response, result)


@router.post("/guardian-consent", status_code=204, responses=error_responses(400))
async def guardian_consent(session: SessionDep, request: Request, body: GuardianConsentIn) -> Response:
    """The guardian of a minor's account waiting in pending_guardian consents with the code sent to
    the guardian's phone (purpose guardian); the account becomes active and can log in. Every refusal
    is 400 ``account.guardian_consent_failed``, whether or not the phone has an account waiting."""
    result = await answering(
        service.complete_guardian_consent(
            session,
            settings_of(request),
            phone=body.phone,
            guardian_code=body.guardian_sms_code,
            client=_client(request),
        )
    )
    if isinstance(result, JSONResponse):
        return result
    return Response(status_code=204)


@router.post("/login/password", response_model=CurrentUserRead, responses=error_responses(403, 429))
async def login_password(
    session: SessionDep, request: Request, response: Response, body: PasswordLoginIn
) -> CurrentUserRead | JSONResponse:
    result = await answering(
        service.login_with_password(
            session, settings_of(request), phone=body.phone, password=body.password, client=_client(request)
        )
    )
    if isinstance(result, JSONResponse):
        return result
    return await _logged_in(session, request, response, result)


@router.post("/login/sms", response_model=CurrentUserRead, responses=error_responses(400, 403, 429))
async def login_sms(
    session: SessionDep, request: Request, response: Response, body: SmsLoginIn
) -> CurrentUserRead | JSONResponse:
    result = await answering(
        service.login_with_sms(
            session, settings_of(request), phone=body.phone, code=body.sms_code, client=_client(request)
        )
    )
    if isinstance(result, JSONResponse):
        return result
    return await _logged_in(session, request, response, result)


@router.post("/password/reset", status_code=204, responses=error_responses(400))
async def password_reset(session: SessionDep, request: Request, body: PasswordResetIn) -> Response:
    """Set a new password with an SMS code (purpose reset_password); every session of the account ends."""
    result = await answering(
        service.reset_password(
            session,
            phone=body.phone,
            code=body.sms_code,
            new_password=body.new_password,
            client=_client(request),
        )
    )
    if isinstance(result, JSONResponse):
        return result
    response = Response(status_code=204)
    sessions.clear_session_cookies(response, settings_of(request))
    return response


@router.get("/wecom/login", status_code=302, response_class=RedirectResponse, responses=error_responses(400))
@writes_on_get
async def wecom_login(
    session: SessionDep, request: Request, corp_id: Annotated[str, Query(min_length=1, max_length=64)]
) -> RedirectResponse:
    """Start a WeCom QR login for the company that connected ``corp_id``: redirects to WeCom's page."""
    settings = settings_of(request)
    redirect = RedirectResponse("/", status_code=302)
    device = sessions.device_cookie(request, redirect, settings)
    redirect.headers["location"] = await service.wecom_login_url(
        session, settings, corp_id=corp_id, device_id=device
    )
    return redirect


@router.get(
    "/wecom/callback", status_code=303, response_class=RedirectResponse, responses=error_responses(400, 403)
)
@writes_on_get
async def wecom_callback(
    session: SessionDep,
    request: Request,
    code: Annotated[str, Query(min_length=1, max_length=512)],
    state: Annotated[str, Query(min_length=1, max_length=128)],
) -> Response:
    """WeCom sends the browser back here with ``code`` and ``state``; on success, to the console."""
    settings = settings_of(request)
    result = await answering(
        service.login_with_wecom(
            session,
            settings,
            code=code,
            state=state,
            device_id=request.cookies.get(sessions.DEVICE_COOKIE),
            client=_client(request),
        )
    )
    if isinstance(result, JSONResponse):
        return result
    redirect = RedirectResponse("/", status_code=303)
    sessions.set_session_cookies(redirect, result.token, settings)
    return redirect


@router.get("/me", response_model=CurrentUserRead)
async def me(session: SessionDep, auth: CurrentSession) -> CurrentUserRead:
    return _me_read(await service.me(session, auth))


@router.get("/sessions", response_model=SessionList)
async def my_sessions(session: SessionDep, auth: CurrentSession) -> SessionList:
    """My live sessions and their devices (OS and browser family, IP region; never the IP)."""
    rows = [auth] if auth.user_id is None else list(await sessions.user_sessions(session, auth.user_id))
    return SessionList(
        items=[
            SessionRead(
                id=row.id,
                current=row.id == auth.id,
                method=row.method,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                os_family=row.os_family,
                browser_family=row.browser_family,
                ip_region=row.ip_region,
            )
            for row in rows
        ]
    )


@router.delete("/sessions/{session_id}", status_code=204, responses=error_responses(403, 404))
async def revoke_session(
    session: SessionDep, request: Request, auth: CurrentSession, session_id: uuid.UUID
) -> Response:
    """Revoke one of my sessions (revoking the current one logs out)."""
    rows = [auth] if auth.user_id is None else await sessions.user_sessions(session, auth.user_id)
    target = next((row for row in rows if row.id == session_id), None)
    if target is None:
        raise NotFound()
    await sessions.revoke_session(session, target)
    response = Response(status_code=204)
    if target.id == auth.id:
        sessions.clear_session_cookies(response, settings_of(request))
    return response


@router.post("/logout", status_code=204, responses=error_responses(403))
async def logout(session: SessionDep, request: Request, auth: CurrentSession) -> Response:
    await sessions.revoke_session(session, auth)
    response = Response(status_code=204)
    sessions.clear_session_cookies(response, settings_of(request))
    return response


@router.post("/logout-everywhere", status_code=204, responses=error_responses(403))
async def logout_everywhere(session: SessionDep, request: Request, auth: CurrentSession) -> Response:
    """End every session of mine, this one included."""
    if auth.user_id is None:
        await sessions.revoke_session(session, auth)
    else:
        await sessions.revoke_user_sessions(session, auth.user_id)
    response = Response(status_code=204)
    sessions.clear_session_cookies(response, settings_of(request))
    return response


@dev.get("/sms-codes/latest", response_model=DevSmsCode)
async def latest_sms_code(
    session: SessionDep,
    request: Request,
    phone: Annotated[
        str | None,
        Query(min_length=5, max_length=32, description="Left out: the signed-in user's own phone."),
    ] = None,
) -> DevSmsCode:
    """Development banner: the last code the console provider 'sent' to ``phone``. Not in production."""
    provider = sms_provider(request)
    if settings_of(request).env == "production" or not isinstance(provider, ConsoleSmsProvider):
        raise NotFound()
    if phone is None:
        phone = await service.session_phone(session, request.cookies.get(SESSION_COOKIE))
    found = provider.latest_for(service.normalise_mobile(phone)) if phone else None
    if found is None:
        raise NotFound()
    return DevSmsCode(
        phone_masked=found.phone_masked, code=found.code, purpose=found.purpose, sent_at=found.sent_at
    )


# --- the profile ---------------------------------------------------------------------------------

AVATAR_BODY_LIMIT = profile.AVATAR_MAX_BYTES + 64 * 1024  # the image and the multipart framing
AVATAR_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "PNG, JPEG or WebP (by its bytes), ≤ 2 MB, ≤ 4096 px a side.",
                        }
                    },
                }
            }
        },
    }
}


def _profile_read(found: profile.Profile) -> ProfileRead:
    return ProfileRead(
        user_id=found.user_id,
        display_name=found.display_name,
        display_name_source=found.display_name_source,
        avatar_url=found.avatar_url,
        avatar_source=found.avatar_source,
        wecom_userid_masked=found.wecom_userid_masked,
        wecom_gender=found.wecom_gender,
        corp_id=found.corp_id,
        phone_masked=found.phone_masked,
        role=found.role,
        company_name=found.company_name,
        has_password=found.has_password,
    )


async def _read_capped(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise AvatarTooLarge(max_bytes=profile.AVATAR_MAX_BYTES)
    return bytes(body)


def _file_part(content_type: str, body: bytes) -> bytes:
    """The content of the part named ``file`` of a ``multipart/form-data`` body (RFC 7578)."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary") if header.get_content_type() == "multipart/form-data" else None
    if not isinstance(boundary, str) or not boundary or len(boundary) > 200:
        raise AvatarMissing()
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    for part in (b"\r\n" + body).split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, separator, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            continue
        headers = HeaderParser().parsestr(head.decode("latin-1"))
        if headers.get_param("name", header="content-disposition") == "file":
            return content
    raise AvatarMissing()


@router.get("/profile", response_model=ProfileRead)
async def get_profile(session: SessionDep, auth: CurrentSession, _ctx: CurrentTenant) -> ProfileRead:
    """My profile: name, avatar, WeCom account (masked) and gender as WeCom gave them, corp id, phone
    (masked), role and company."""
    return _profile_read(await profile.get_profile(session, auth))


@router.patch("/profile", response_model=ProfileRead, responses=error_responses(403))
async def update_profile(
    session: SessionDep, auth: CurrentSession, _ctx: CurrentTenant, body: ProfileUpdate
) -> ProfileRead:
    """Change my display name (1–30 characters, trimmed, no control characters); null goes back to the
    WeCom name. Fields left out are not changed."""
    if "display_name" in body.model_fields_set:
        await profile.set_display_name(session, auth, body.display_name)
    return _profile_read(await profile.get_profile(session, auth))


@router.post(
    "/profile/avatar",
    response_model=ProfileRead,
    responses=error_responses(403, 413, 415),
    openapi_extra=AVATAR_UPLOAD_BODY,
)
async def upload_avatar(
    session: SessionDep, request: Request, auth: CurrentSession, _ctx: CurrentTenant
) -> ProfileRead:
    """Upload my avatar as the multipart part ``file``: PNG, JPEG or WebP by its bytes (the name and
    declared type do not count), at most 2 MB and 4096 px a side; EXIF and other metadata are removed."""
    body = await _read_capped(request, AVATAR_BODY_LIMIT)
    data = _file_part(request.headers.get("content-type", ""), body)
    await profile.upload_avatar(session, settings_of(request).data_dir, auth, data)
    return _profile_read(await profile.get_profile(session, auth))


@router.get(
    "/profile/avatar",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}},
        **error_responses(404),
    },
)
async def get_avatar(
    session: SessionDep, request: Request, auth: CurrentSession, _ctx: CurrentTenant
) -> Response:
    """My uploaded avatar (only to me)."""
    path, media_type = await profile.avatar_file(session, settings_of(request).data_dir, auth)
    return Response(
        path.read_bytes(),
        media_type=media_type,
        headers={
            "Cache-Control": "private, no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


@router.delete("/profile/avatar", status_code=204, responses=error_responses(403, 404))
async def delete_avatar(
    session: SessionDep, request: Request, auth: CurrentSession, _ctx: CurrentTenant
) -> Response:
    """Remove my uploaded avatar (the WeCom avatar, if kept, shows again)."""
    await profile.delete_avatar(session, settings_of(request).data_dir, auth)
    return Response(status_code=204)


@router.post("/password", response_model=PasswordChanged, responses=error_responses(400, 403, 429))
async def change_password(
    session: SessionDep, request: Request, auth: CurrentSession, _ctx: CurrentTenant, body: PasswordChangeIn
) -> PasswordChanged | JSONResponse:
    """Change my password: the current one first (a wrong one counts toward the login lockout); the
    new one follows the registration rules. Without a password yet (an account made by WeCom QR login
    or an invitation) the first one needs no current one. My other sessions end."""
    result = await answering(
        profile.change_password(
            session, auth, current=body.current_password, new=body.new_password, client=_client(request)
        )
    )
    if isinstance(result, JSONResponse):
        return result
    return PasswordChanged(sessions_revoked=result)


@router.post(
    "/phone/current-code",
    response_model=SmsCodeSent,
    status_code=202,
    responses=error_responses(400, 403, 429, 502),
)
async def send_current_phone_code(
    session: SessionDep, request: Request, auth: CurrentSession, _ctx: CurrentTenant
) -> SmsCodeSent:
    """Step 1 of a phone change starts here: a code (purpose change_phone) to my current phone, whose
    number I need not type. 400 ``account.no_phone`` when I have none (then bind one directly)."""
    sent = await profile.send_current_phone_code(
        session, settings_of(request), sms_provider(request), auth, _client(request)
    )
    return SmsCodeSent(
        phone_masked=sent.phone_masked, expires_in_s=sent.expires_in_s, resend_after_s=sent.resend_after_s
    )


@router.post("/phone/verify-current", response_model=PhoneTicketRead, responses=error_responses(400, 403))
async def verify_current_phone(
    session: SessionDep,
    request: Request,
    auth: CurrentSession,
    _ctx: CurrentTenant,
    body: PhoneVerifyCurrentIn,
) -> PhoneTicketRead | JSONResponse:
    """Step 1 of a phone change: the code sent to my current phone (purpose change_phone) gives a
    ticket for 10 minutes, in this session only."""
    result = await answering(
        profile.verify_current_phone(session, auth, code=body.sms_code, client=_client(request))
    )
    if isinstance(result, JSONResponse):
        return result
    return PhoneTicketRead(ticket=result.ticket, expires_in_s=result.expires_in_s)


@router.post("/phone", response_model=PhoneChanged, responses=error_responses(400, 403, 409))
async def change_phone(
    session: SessionDep, request: Request, auth: CurrentSession, _ctx: CurrentTenant, body: PhoneChangeIn
) -> PhoneChanged | JSONResponse:
    """Step 2: the ticket and the code sent to the new phone (purpose change_phone) change my phone;
    without a phone yet, the code alone binds my first one. A number registered to another account is
    refused (409) without saying whose; my other sessions end."""
    result = await answering(
        profile.change_phone(
            session,
            auth,
            ticket=body.ticket,
            new_phone=body.new_phone,
            code=body.sms_code,
            client=_client(request),
        )
    )
    if isinstance(result, JSONResponse):
        return result
    masked, revoked = result
    return PhoneChanged(phone_masked=masked, sessions_revoked=revoked)
