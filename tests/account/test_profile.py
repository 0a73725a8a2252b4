"""The profile (issue 5 item 7): name, avatar, WeCom account and gender, corp id; password change;
phone change with both numbers verified. Every bad input gets its code and changes nothing."""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import time_machine
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.account import repository as repo
from huike.account.images import read_image
from huike.account.models import AccountProfile, User
from huike.account.profile import remember_wecom_basics
from huike.config import Settings
from huike.member.models import Member
from huike.privacy.audit.models import AuditEvent
from huike.security.sessions import SESSION_COOKIE
from huike.wecom.models import ConnectionStatus, WeComConnection
from tests.account.conftest import HANGZHOU_IP, PASSWORD, PHONE, Flows, csrf

NEW_PHONE = "13900139000"
OTHER_PHONE = "13700137000"
NEW_PASSWORD = "Another-Pass-2027"


# --- images made by hand -----------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 2, height: int = 2, *, text: bytes = b"Comment\x00secret place") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(min(height, 4)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"tEXt", text)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


def _segment(marker: int, data: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(data) + 2) + data


def jpeg(width: int = 3, height: int = 2) -> bytes:
    sof = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xE1, b"Exif\x00\x00GPSLatitude 30.27N secret place")
        + _segment(0xFE, b"a comment")
        + _segment(0xC0, sof)
        + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x12\x34\x56"
        + b"\xff\xd9"
    )


def webp(width: int = 5, height: int = 4) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    vp8l = b"\x2f" + bits.to_bytes(4, "little") + b"\x00"
    chunk = b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    exif = b"EXIF" + struct.pack("<I", 12) + b"GPS secret!!"
    body = b"WEBP" + chunk + exif
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # the avatar limit (2 MB) is tested here, above the suite's small body cap
    return settings.model_copy(update={"max_body_bytes": 3 * 1024 * 1024})


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def later(seconds: int = 61) -> time_machine.travel:
    return time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=False)


@pytest_asyncio.fixture
async def me(flows: Flows) -> Flows:
    """Registered and logged in (the registration's session)."""
    response = await flows.register()
    assert response.status_code == 201, response.text
    return flows


@pytest_asyncio.fixture
async def second(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(HANGZHOU_IP, 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def login(client: httpx.AsyncClient, password: str = PASSWORD, phone: str = PHONE) -> httpx.Response:
    return await client.post("/api/v1/auth/login/password", json={"phone": phone, "password": password})


async def user_of(session: AsyncSession, phone: str = PHONE) -> User:
    found = await repo.user_by_phone(session, "+86" + phone)
    assert found is not None
    return found


async def actions(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(AuditEvent.action))).scalars().all())


async def upload(
    client: httpx.AsyncClient, data: bytes, name: str = "me.png", content_type: str = "image/png"
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/profile/avatar", files={"file": (name, data, content_type)}, headers=csrf(client)
    )


# --- reading ---------------------------------------------------------------------------------------


class TestRead:
    async def test_profile_of_a_registrant(self, me: Flows) -> None:
        response = await me.client.get("/api/v1/auth/profile")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["phone_masked"] == "138****8000"
        assert body["role"] == {"id": "creator", "name": "创建者", "builtin": True}
        assert body["company_name"] == "杭州汇客测试有限公司"
        assert body["display_name"] is None
        assert body["avatar_url"] is None
        assert body["wecom_userid_masked"] is None
        assert body["wecom_gender"] is None
        assert body["corp_id"] is None
        assert body["has_password"] is True
        assert "13800138000" not in response.text

    async def test_needs_a_session(self, api: httpx.AsyncClient, platform: str) -> None:
        assert (await api.get("/api/v1/auth/profile")).status_code == 401

    async def test_wecom_name_avatar_gender_and_corp_id(self, me: Flows, session: AsyncSession) -> None:
        user = await user_of(session)
        membership = (await repo.memberships_of(session, user.id))[0]
        tenant_id = membership.tenant_id
        session.add(
            WeComConnection(
                tenant_id=tenant_id,
                corp_id="ww00112233aabbccdd",
                agent_id=1000002,
                app_secret="s" * 43,
                contact_secret="c" * 43,
                callback_token="T" * 32,
                encoding_aes_key="K" * 43,
                callback_key=uuid.uuid4().hex,
                status=ConnectionStatus.connected,
            )
        )
        session.add(Member(tenant_id=tenant_id, wecom_userid="zhangsan", name="张三", user_id=user.id))
        await remember_wecom_basics(
            session, tenant_id, user.id, avatar="https://wework.qpic.cn/wwhead/abc/0", gender="1"
        )
        await session.commit()

        body = (await me.client.get("/api/v1/auth/profile")).json()
        assert body["display_name"] == "张三"
        assert body["display_name_source"] == "wecom"
        assert body["wecom_userid_masked"] == "zh***an"
        assert body["wecom_gender"] == "1"
        assert body["avatar_url"] == "https://wework.qpic.cn/wwhead/abc/0"
        assert body["avatar_source"] == "wecom"
        assert body["corp_id"] == "ww00112233aabbccdd"

        # an uploaded avatar and an own name come first; null goes back to the WeCom name
        assert (await upload(me.client, png())).status_code == 200
        patched = await me.client.patch(
            "/api/v1/auth/profile", json={"display_name": "  小张  "}, headers=csrf(me.client)
        )
        assert patched.json()["display_name"] == "小张"
        assert patched.json()["avatar_source"] == "upload"
        reset = await me.client.patch(
            "/api/v1/auth/profile", json={"display_name": None}, headers=csrf(me.client)
        )
        assert reset.json()["display_name"] == "张三"


# --- name ----------------------------------------------------------------------------------------


class TestName:
    async def test_set_and_trimmed(self, me: Flows) -> None:
        # its audit row (field names only) is checked in test_r_log_1_registration_event_and_logs.py
        response = await me.client.patch(
            "/api/v1/auth/profile", json={"display_name": "  王小明 "}, headers=csrf(me.client)
        )
        assert response.status_code == 200, response.text
        assert response.json()["display_name"] == "王小明"
        assert response.json()["display_name_source"] == "own"

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("", "empty"),
            ("    ", "empty"),
            ("名" * 31, "too_long"),
            ("a\x00b", "control_characters"),
            ("a\nb", "control_characters"),
            ("a\u202eb", "control_characters"),
            ("a\u200bb", "control_characters"),
        ],
    )
    async def test_bad_names_change_nothing(
        self, me: Flows, session: AsyncSession, value: str, reason: str
    ) -> None:
        response = await me.client.patch(
            "/api/v1/auth/profile", json={"display_name": value}, headers=csrf(me.client)
        )
        assert response.status_code == 422, response.text
        assert code_of(response) == "account.display_name_invalid"
        assert response.json()["error"]["details"]["reason"] == reason
        assert (await me.client.get("/api/v1/auth/profile")).json()["display_name"] is None
        assert await session.scalar(select(func.count()).select_from(AccountProfile)) == 0

    async def test_thirty_characters_pass_and_unknown_fields_are_refused(self, me: Flows) -> None:
        ok = await me.client.patch(
            "/api/v1/auth/profile", json={"display_name": "名" * 30}, headers=csrf(me.client)
        )
        assert ok.status_code == 200
        unknown = await me.client.patch("/api/v1/auth/profile", json={"gender": "2"}, headers=csrf(me.client))
        assert unknown.status_code == 422

    async def test_csrf_is_required(self, me: Flows) -> None:
        response = await me.client.patch("/api/v1/auth/profile", json={"display_name": "x"})
        assert response.status_code == 403
        assert code_of(response) == "auth.csrf_failed"


# --- avatar --------------------------------------------------------------------------------------


def avatar_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "uploads" / "avatars"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


class TestAvatar:
    async def test_png_named_jpg_is_stored_stripped_and_served_to_its_owner(
        self, me: Flows, session: AsyncSession, settings: Settings, second: httpx.AsyncClient
    ) -> None:
        response = await upload(me.client, png(), name="photo.jpg", content_type="image/jpeg")
        assert response.status_code == 200, response.text
        assert response.json()["avatar_source"] == "upload"
        user = await user_of(session)
        tenant_id = (await repo.memberships_of(session, user.id))[0].tenant_id
        [stored] = avatar_files(settings)
        assert stored.parent == settings.data_dir / "uploads" / "avatars" / str(tenant_id) / str(user.id)
        assert stored.suffix == ".png"
        assert stored.stem != str(user.id)
        assert len(stored.stem) == 32
        served = await me.client.get("/api/v1/auth/profile/avatar")
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.content == stored.read_bytes()
        assert b"secret place" not in served.content
        assert read_image(served.content).width == 2
        # another browser without this session sees nothing
        assert (await second.get("/api/v1/auth/profile/avatar")).status_code == 401

    async def test_another_user_gets_only_their_own(self, me: Flows, second: httpx.AsyncClient) -> None:
        assert (await upload(me.client, png())).status_code == 200
        other = Flows(second, me.version)
        with later():
            assert (await other.register(phone=OTHER_PHONE)).status_code == 201
        assert (await second.get("/api/v1/auth/profile/avatar")).status_code == 404
        assert (await second.get("/api/v1/auth/profile")).json()["avatar_url"] is None

    async def test_jpeg_and_webp_lose_their_exif(self, me: Flows, settings: Settings) -> None:
        assert (await upload(me.client, jpeg(), name="a.jpeg", content_type="image/jpeg")).status_code == 200
        served = await me.client.get("/api/v1/auth/profile/avatar")
        assert served.headers["content-type"] == "image/jpeg"
        assert b"GPS" not in served.content
        assert b"a comment" not in served.content
        assert served.content.startswith(b"\xff\xd8")
        assert served.content.endswith(b"\xff\xd9")
        assert read_image(served.content).width == 3

        assert (await upload(me.client, webp(), name="a.webp", content_type="image/webp")).status_code == 200
        served = await me.client.get("/api/v1/auth/profile/avatar")
        assert served.headers["content-type"] == "image/webp"
        assert b"GPS" not in served.content
        image = read_image(served.content)
        assert (image.width, image.height) == (5, 4)
        # the replaced upload is gone
        assert [p.suffix for p in avatar_files(settings)] == [".webp"]

    @pytest.mark.parametrize(
        ("data", "name", "status", "code"),
        [
            (b"just some text, not an image\n", "evil.png", 415, "account.avatar_type"),
            (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "a.gif", 415, "account.avatar_type"),
            (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a.png", 415, "account.avatar_type"),
            (png(5000, 10), "huge.png", 422, "account.avatar_invalid"),
            (png()[:30], "cut.png", 422, "account.avatar_invalid"),
            (b"\xff\xd8\xff\xe0\x00", "cut.jpg", 422, "account.avatar_invalid"),
            (png() + b"\x00" * (2 * 1024 * 1024), "big.png", 413, "account.avatar_too_large"),
        ],
    )
    async def test_bad_uploads_change_nothing(
        self,
        me: Flows,
        session: AsyncSession,
        settings: Settings,
        data: bytes,
        name: str,
        status: int,
        code: str,
    ) -> None:
        response = await upload(me.client, data, name=name)
        assert response.status_code == status, response.text
        assert code_of(response) == code
        assert avatar_files(settings) == []
        assert await session.scalar(select(func.count()).select_from(AccountProfile)) == 0
        assert (await me.client.get("/api/v1/auth/profile/avatar")).status_code == 404

    async def test_missing_file_part(self, me: Flows) -> None:
        wrong_field = await me.client.post(
            "/api/v1/auth/profile/avatar",
            files={"picture": ("a.png", png(), "image/png")},
            headers=csrf(me.client),
        )
        assert code_of(wrong_field) == "account.avatar_missing"
        not_multipart = await me.client.post(
            "/api/v1/auth/profile/avatar",
            content=png(),
            headers={**csrf(me.client), "content-type": "image/png"},
        )
        assert not_multipart.status_code == 422
        assert code_of(not_multipart) == "account.avatar_missing"

    async def test_delete(self, me: Flows, settings: Settings) -> None:
        assert (await upload(me.client, png())).status_code == 200
        deleted = await me.client.delete("/api/v1/auth/profile/avatar", headers=csrf(me.client))
        assert deleted.status_code == 204
        assert avatar_files(settings) == []
        assert (await me.client.get("/api/v1/auth/profile/avatar")).status_code == 404
        again = await me.client.delete("/api/v1/auth/profile/avatar", headers=csrf(me.client))
        assert again.status_code == 404


# --- password ------------------------------------------------------------------------------------


async def change_password(
    client: httpx.AsyncClient, current: str = PASSWORD, new: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/password",
        json={"current_password": current, "new_password": new},
        headers=csrf(client),
    )


class TestPassword:
    async def test_change_revokes_other_sessions_and_audits(
        self, me: Flows, second: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        assert (await login(second)).status_code == 200
        response = await change_password(me.client)
        assert response.status_code == 200, response.text
        assert response.json() == {"sessions_revoked": 1}
        assert (await second.get("/api/v1/auth/me")).status_code == 401
        assert (await me.client.get("/api/v1/auth/me")).status_code == 200
        assert "auth.password_changed" in await actions(session)
        second.cookies.clear()
        assert (await login(second)).status_code == 401
        assert (await login(second, NEW_PASSWORD)).status_code == 200

    async def test_wrong_current_is_counted_in_the_lockout(
        self, me: Flows, second: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        user = await user_of(session)
        before = user.password_hash
        for _ in range(5):
            wrong = await change_password(me.client, current="Not-The-Password-1")
            assert wrong.status_code == 400
            assert code_of(wrong) == "account.wrong_password"
        locked = await change_password(me.client)
        assert locked.status_code == 429
        assert code_of(locked) == "auth.locked"
        assert code_of(await login(second)) == "auth.locked"  # the same throttle as the login page
        await session.refresh(user)
        assert user.password_hash == before
        assert (await actions(session)).count("auth.login.failed") == 5

    @pytest.mark.parametrize(
        ("new", "code"),
        [
            ("short1!", "account.weak_password"),
            ("alllowercaseletters", "account.weak_password"),
            ("Ab-13800138000", "account.weak_password"),
            (PASSWORD, "account.password_unchanged"),
        ],
    )
    async def test_bad_new_passwords_change_nothing(
        self, me: Flows, second: httpx.AsyncClient, session: AsyncSession, new: str, code: str
    ) -> None:
        assert (await login(second)).status_code == 200
        response = await change_password(me.client, new=new)
        assert response.status_code == 422, response.text
        assert code_of(response) == code
        assert (await second.get("/api/v1/auth/me")).status_code == 200
        assert "auth.password_changed" not in await actions(session)
        second.cookies.clear()
        assert (await login(second)).status_code == 200


# --- phone ---------------------------------------------------------------------------------------


async def verify_current(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/phone/verify-current", json={"sms_code": code}, headers=csrf(client)
    )


async def change_phone(
    client: httpx.AsyncClient, ticket: str, code: str, new_phone: str = NEW_PHONE
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/phone",
        json={"ticket": ticket, "new_phone": new_phone, "sms_code": code},
        headers=csrf(client),
    )


async def ticket_of(flows: Flows) -> str:
    code = await flows.code(PHONE, "change_phone")
    response = await verify_current(flows.client, code)
    assert response.status_code == 200, response.text
    assert response.json()["expires_in_s"] == 600
    return str(response.json()["ticket"])


class TestPhone:
    async def test_two_steps_change_the_phone_and_its_index(
        self, me: Flows, second: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        with later():
            assert (await login(second)).status_code == 200
            ticket = await ticket_of(me)
            code = await me.code(NEW_PHONE, "change_phone")
            response = await change_phone(me.client, ticket, code)
        assert response.status_code == 200, response.text
        assert response.json() == {"phone_masked": "139****9000", "sessions_revoked": 1}
        assert (await second.get("/api/v1/auth/me")).status_code == 401
        assert (await me.client.get("/api/v1/auth/profile")).json()["phone_masked"] == "139****9000"
        assert await repo.user_by_phone(session, "+86" + PHONE) is None
        assert (await user_of(session, NEW_PHONE)).phone == "+86" + NEW_PHONE
        second.cookies.clear()
        assert (await login(second)).status_code == 401
        assert (await login(second, phone=NEW_PHONE)).status_code == 200
        row = (
            await session.execute(select(AuditEvent).where(AuditEvent.action == "account.phone_changed"))
        ).scalar_one()
        assert row.details["old_phone_masked"] == "138****8000"
        assert row.details["new_phone_masked"] == "139****9000"
        assert "13800138000" not in str(row.details)
        assert "13900139000" not in str(row.details)
        # the ticket is spent
        with later(200):
            again = await change_phone(
                me.client, ticket, await me.code(OTHER_PHONE, "change_phone"), OTHER_PHONE
            )
        assert code_of(again) == "account.phone_ticket_invalid"
        assert again.json()["error"]["details"]["reason"] == "used"

    async def test_a_stale_ticket(self, me: Flows, session: AsyncSession) -> None:
        start = datetime.now(UTC) + timedelta(seconds=61)
        with time_machine.travel(start, tick=False) as clock:
            ticket = await ticket_of(me)
            clock.shift(timedelta(minutes=9, seconds=59))
            code = await me.code(NEW_PHONE, "change_phone")
            clock.shift(timedelta(seconds=2))
            response = await change_phone(me.client, ticket, code)
        assert response.status_code == 400
        assert code_of(response) == "account.phone_ticket_invalid"
        assert response.json()["error"]["details"]["reason"] == "expired"
        assert (await user_of(session)).phone == "+86" + PHONE

    async def test_a_reused_code(self, me: Flows) -> None:
        with later():
            code = await me.code(PHONE, "change_phone")
            assert (await verify_current(me.client, code)).status_code == 200
            reused = await verify_current(me.client, code)
        assert reused.status_code == 400
        assert code_of(reused) == "sms.code_used"

    async def test_a_code_of_another_purpose_or_a_wrong_code(self, me: Flows, session: AsyncSession) -> None:
        with later():
            login_code = await me.code(PHONE, "login")
            other_purpose = await verify_current(me.client, login_code)
        assert code_of(other_purpose) == "sms.code_missing"
        with later(130):
            ticket = await ticket_of(me)
            await me.code(NEW_PHONE, "change_phone")
            wrong = await change_phone(me.client, ticket, "000000")
        assert wrong.status_code == 400
        assert code_of(wrong) in ("sms.code_wrong",)
        assert (await user_of(session)).phone == "+86" + PHONE

    async def test_the_new_number_is_taken(
        self, me: Flows, second: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        other = Flows(second, me.version)
        with later():
            assert (await other.register(phone=NEW_PHONE)).status_code == 201
            ticket = await ticket_of(me)
        with later(130):
            code = await me.code(NEW_PHONE, "change_phone")  # a registered number gets its code
            taken = await change_phone(me.client, ticket, code)
        assert taken.status_code == 409
        assert code_of(taken) == "account.phone_registered"
        assert "139" not in taken.json()["error"]["message"]
        assert set(taken.json()["error"]["details"] or {}) == set()
        assert (await user_of(session)).phone == "+86" + PHONE
        assert (await user_of(session, NEW_PHONE)).phone == "+86" + NEW_PHONE
        assert "account.phone_changed" not in await actions(session)

    async def test_the_ticket_belongs_to_its_session(self, me: Flows, second: httpx.AsyncClient) -> None:
        with later():
            assert (await login(second)).status_code == 200
            ticket = await ticket_of(me)
            code = await me.code(NEW_PHONE, "change_phone")
            elsewhere = await change_phone(second, ticket, code)
            made_up = await change_phone(me.client, "not-a-ticket", code)
        assert code_of(elsewhere) == "account.phone_ticket_invalid"
        assert elsewhere.json()["error"]["details"]["reason"] == "unknown"
        assert code_of(made_up) == "account.phone_ticket_invalid"

    async def test_bad_new_numbers(self, me: Flows, session: AsyncSession) -> None:
        with later():
            ticket = await ticket_of(me)
        invalid = await change_phone(me.client, ticket, "123456", new_phone="010 6552 9988")
        assert invalid.status_code == 422
        assert code_of(invalid) == "account.invalid_phone"
        same = await change_phone(me.client, ticket, "123456", new_phone="+86 138 0013 8000")
        assert code_of(same) == "account.phone_unchanged"
        assert (await user_of(session)).phone == "+86" + PHONE

    async def test_sms_codes_for_change_phone_reach_registered_and_unregistered_numbers(
        self, me: Flows, api: httpx.AsyncClient
    ) -> None:
        with later():
            for phone in (PHONE, NEW_PHONE):  # registered, unregistered
                sent = await api.post(
                    "/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "change_phone"}
                )
                assert sent.status_code == 202
                latest = await api.get("/api/v1/dev/sms-codes/latest", params={"phone": phone})
                assert latest.json()["purpose"] == "change_phone"

    async def test_session_cookie_of_a_revoked_session(self, me: Flows, second: httpx.AsyncClient) -> None:
        assert (await login(second)).status_code == 200
        token = second.cookies.get(SESSION_COOKIE)
        assert (await change_password(me.client)).status_code == 200
        response = await second.get("/api/v1/auth/profile", headers={"cookie": f"{SESSION_COOKIE}={token}"})
        assert response.status_code == 401
