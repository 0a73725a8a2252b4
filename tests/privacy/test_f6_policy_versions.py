"""F6 policy versions (R-POL-1, R-LANG-1) and the public pages /privacy/policy and /privacy/third-parties."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.privacy.egress import public_third_parties
from huike.privacy.policy import service
from huike.privacy.policy.errors import (
    PolicyVersionExists,
    PolicyVersionImmutable,
    PolicyVersionInvalid,
)
from huike.privacy.policy.models import ChangeClass, PolicyNotice, PolicyVersion
from huike.privacy.policy.render import PREVAILS_NO_TRANSLATION, PREVAILS_TRANSLATION, parse_policy
from huike.security.sessions import SESSION_COOKIE, start_session
from huike.tenant.models import Tenant

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "iccsaas-privacy-policy.zh.txt"
PURPOSES = service.initial_purposes()


async def publish_next(
    session: AsyncSession,
    label: str,
    change_class: ChangeClass,
    *,
    text: str | None = None,
    purposes: list[dict[str, str]] | None = None,
    text_en: str | None = None,
) -> PolicyVersion:
    """Publish a version that is already in effect: published 7 days before its effective date."""
    effective = date.fromisoformat(label[:10])
    return await service.publish_version(
        session,
        version=label,
        text_zh=text or f"iCCSaaS 隐私政策\n\n更新日期：{label}\n\n一、修订\n\n本版本 {label} 的文本。",
        effective_date=effective,
        change_class=change_class,
        purposes=PURPOSES if purposes is None else purposes,
        text_en=text_en,
        now=datetime(effective.year, effective.month, effective.day, tzinfo=UTC) - timedelta(days=7),
    )


class TestInitialVersion:
    def test_packaged_text_is_the_spec(self) -> None:
        if not SPEC.exists():
            pytest.skip("shared spec not present")
        assert service.initial_policy_text() == SPEC.read_text(encoding="utf-8")

    async def test_seed_is_idempotent_material_and_hashed(self, session: AsyncSession) -> None:
        first = await service.ensure_initial_policy(session)
        again = await service.ensure_initial_policy(session)
        assert again.id == first.id
        rows = (await session.execute(select(PolicyVersion))).scalars().all()
        assert [r.version for r in rows] == ["2023-02-22"]
        assert first.change_class == ChangeClass.material
        assert first.effective_date == date(2023, 2, 22)
        assert first.published_at is not None
        assert first.text_zh == service.initial_policy_text()
        assert first.text_hash == hashlib.sha256(first.text_zh.encode()).hexdigest()
        assert first.third_parties == public_third_parties()
        assert (await service.current_version(session)).id == first.id

    def test_third_party_table_in_text_matches_register(self) -> None:
        """§三（一）2's table equals the generated rows on product, entity, shared information,
        scene, purpose and link (the text leaves 传输方式 empty; the register says HTTPS)."""
        tables = [b for b in parse_policy(service.initial_policy_text()) if b.kind == "table"]
        assert len(tables) == 1
        header, *rows = tables[0].rows
        assert header[:2] == ["涉及产品/服务", "第三方主体"]
        in_text = [(r[0], r[1], r[2], r[3], r[4], r[6]) for r in rows]
        generated = [
            (r["product_zh"], r["entity_zh"], r["shared_zh"], r["scene_zh"], r["purpose_zh"], r["policy_url"])
            for r in public_third_parties()
        ]
        assert in_text == generated


class TestImmutability:
    async def test_published_version_refuses_edits_and_deletes(self, session: AsyncSession) -> None:
        version = await service.ensure_initial_policy(session)
        with pytest.raises(PolicyVersionImmutable):
            await service.update_draft(session, "2023-02-22", text_zh="改过的文本")
        with pytest.raises(PolicyVersionImmutable):
            await service.publish(session, "2023-02-22")
        version.text_zh = "直接改 ORM 对象"
        with pytest.raises(PolicyVersionImmutable):
            await session.flush()
        await session.rollback()

    async def test_delete_of_published_version_is_refused(self, session: AsyncSession) -> None:
        version = await service.ensure_initial_policy(session)
        await session.delete(version)
        with pytest.raises(PolicyVersionImmutable):
            await session.flush()
        await session.rollback()

    async def test_draft_can_change_then_publishes_with_new_hash(self, session: AsyncSession) -> None:
        await service.ensure_initial_policy(session)
        draft = await service.create_draft(
            session,
            version="2030-01-01",
            text_zh="草稿",
            effective_date=date(2030, 1, 1),
            change_class=ChangeClass.minor,
        )
        assert draft.published_at is None
        await service.update_draft(session, "2030-01-01", text_zh="定稿")
        published = await service.publish(session, "2030-01-01")
        assert published.text_hash == hashlib.sha256("定稿".encode()).hexdigest()
        # published but not yet in effect: the seed stays current
        assert (await service.current_version(session)).version == "2023-02-22"

    async def test_seed_refuses_a_changed_packaged_text(self, session: AsyncSession) -> None:
        await service.create_draft(
            session,
            version="2023-02-22",
            text_zh="别的文本",
            effective_date=date(2023, 2, 22),
            change_class=ChangeClass.material,
        )
        with pytest.raises(PolicyVersionImmutable):
            await service.ensure_initial_policy(session)


class TestPublishRules:
    @pytest.fixture(autouse=True)
    async def seeded(self, session: AsyncSession) -> None:
        await service.ensure_initial_policy(session)

    async def invalid(self, session: AsyncSession, **kwargs: object) -> str:
        arguments: dict[str, object] = {
            "version": "2030-01-01",
            "text_zh": "文本",
            "effective_date": date(2030, 1, 1),
            "change_class": ChangeClass.material,
        }
        arguments.update(kwargs)
        with pytest.raises(PolicyVersionInvalid) as caught:
            await service.publish_version(session, **arguments)  # type: ignore[arg-type]
        return str(caught.value.details["reason"])

    async def test_material_needs_seven_days_notice(self, session: AsyncSession) -> None:
        now = datetime(2030, 1, 1, 4, tzinfo=UTC)
        assert await self.invalid(session, effective_date=date(2030, 1, 7), now=now) == "notice_period"
        ok = await service.publish_version(
            session,
            version="2030-01-08",
            text_zh="文本",
            effective_date=date(2030, 1, 8),
            change_class=ChangeClass.material,
            now=now,
        )
        assert ok.published

    async def test_minor_may_not_take_effect_in_the_past(self, session: AsyncSession) -> None:
        now = datetime(2030, 1, 2, 4, tzinfo=UTC)
        reason = await self.invalid(session, change_class=ChangeClass.minor, now=now)
        assert reason == "effective_in_past"

    async def test_effective_dates_increase(self, session: AsyncSession) -> None:
        reason = await self.invalid(
            session,
            version="2023-02-21",
            effective_date=date(2023, 2, 21),
            now=datetime(2023, 1, 1, tzinfo=UTC),
        )
        assert reason == "effective_date_order"

    async def test_bad_label_class_and_purposes(self, session: AsyncSession) -> None:
        assert await self.invalid(session, version="v2") == "version_format"
        assert await self.invalid(session, change_class="huge") == "change_class"
        bad = [{"code": "Not A Code", "zh": "x", "en": "x"}]
        assert await self.invalid(session, purposes=bad) == "purposes"
        assert await self.invalid(session, purposes=[*PURPOSES, PURPOSES[0]]) == "purposes"
        assert await self.invalid(session, text_zh="  \n") == "empty_text"

    async def test_duplicate_label(self, session: AsyncSession) -> None:
        with pytest.raises(PolicyVersionExists):
            await service.create_draft(
                session,
                version="2023-02-22",
                text_zh="x",
                effective_date=date(2030, 1, 1),
                change_class=ChangeClass.minor,
            )

    async def test_stale_translation_cannot_be_published(self, session: AsyncSession) -> None:
        """R-LANG-1: a translation records the zh-CN hash it follows."""
        await service.create_draft(
            session,
            version="2030-01-01",
            text_zh="中文",
            effective_date=date(2030, 1, 1),
            change_class=ChangeClass.minor,
            text_en="English",
        )
        await service.update_draft(session, "2030-01-01", text_zh="中文（改）", text_en_source_hash="0" * 64)
        with pytest.raises(PolicyVersionInvalid) as caught:
            await service.publish(session, "2030-01-01")
        assert caught.value.details["reason"] == "translation_stale"


async def seed_and_commit(session: AsyncSession) -> PolicyVersion:
    version = await service.ensure_initial_policy(session)
    await session.commit()
    return version


class TestPages:
    async def test_policy_in_chinese(self, client: httpx.AsyncClient, session: AsyncSession) -> None:
        version = await seed_and_commit(session)
        response = await client.get("/privacy/policy")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-language"] == "zh-CN"
        html = response.text
        assert '<html lang="zh-CN">' in html
        assert "汇客" in html
        assert "<h1>iCCSaaS 隐私政策</h1>" in html
        assert '<h2 id="section-1">一、本服务如何收集和使用个人信息</h2>' in html
        assert '<a href="#section-3">三、我们如何对外提供信息</a>' in html
        assert "<strong>手机号码</strong>" in html
        assert '<th scope="col">第三方主体</th>' in html
        assert "<td>深圳市腾讯计算机系统有限公司</td>" in html
        assert "<td>阿里云计算有限公司</td>" in html
        assert '<a href="https://work.weixin.qq.com/nl/privacy"' in html
        assert "**" not in html
        assert version.text_hash in html
        assert '"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei"' in html
        assert "max-width:860px" in html
        assert PREVAILS_NO_TRANSLATION not in html

    @pytest.mark.parametrize(
        ("params", "headers"), [({"lang": "en"}, {}), ({}, {"Accept-Language": "en-US,en;q=0.9"})]
    )
    async def test_policy_in_english_without_translation(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        params: dict[str, str],
        headers: dict[str, str],
    ) -> None:
        await seed_and_commit(session)
        response = await client.get("/privacy/policy", params=params, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-language"] == "en"
        assert PREVAILS_NO_TRANSLATION in response.text
        assert "Simplified Chinese version prevails" in response.text
        assert '<article lang="zh-CN">' in response.text  # the Chinese text, marked as such
        assert "Privacy policy" in response.text

    async def test_lang_parameter_beats_accept_language(
        self, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        await seed_and_commit(session)
        response = await client.get("/privacy/policy?lang=zh-CN", headers={"Accept-Language": "en"})
        assert response.headers["content-language"] == "zh-CN"

    async def test_english_translation_is_shown_when_it_exists(
        self, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        await seed_and_commit(session)
        await publish_next(
            session,
            "2024-03-01",
            ChangeClass.minor,
            text_en="iCCSaaS Privacy Policy\n\nThis is the English translation.",
        )
        await session.commit()
        html = (await client.get("/privacy/policy?lang=en")).text
        assert "This is the English translation." in html
        assert PREVAILS_TRANSLATION in html
        chinese = (await client.get("/privacy/policy")).text
        assert "本版本 2024-03-01 的文本。" in chinese

    async def test_specific_and_unknown_versions(
        self, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        await seed_and_commit(session)
        await publish_next(session, "2024-03-01", ChangeClass.minor)
        await session.commit()
        old = await client.get("/privacy/policy/2023-02-22")
        assert old.status_code == 200
        assert "深圳市腾讯计算机系统有限公司" in old.text
        assert 'href="/privacy/policy/2024-03-01"' in old.text  # every version stays available
        missing = await client.get("/privacy/policy/1999-01-01?lang=en")
        assert missing.status_code == 404
        assert "privacy.policy_version_not_found" in missing.text
        assert "<script" not in (await client.get("/privacy/policy/%3Cscript%3E")).text

    async def test_third_parties_both_languages(self, client: httpx.AsyncClient) -> None:
        zh = await client.get("/privacy/third-parties")
        assert zh.status_code == 200
        assert "深圳市腾讯计算机系统有限公司" in zh.text
        assert "阿里云计算有限公司" in zh.text
        assert "第三方个人信息处理规则" in zh.text
        en = await client.get("/privacy/third-parties", params={"lang": "en"})
        assert "Alibaba Cloud Computing Co., Ltd." in en.text
        assert "Shenzhen Tencent Computer Systems Co., Ltd." in en.text
        assert '<html lang="en">' in en.text

    async def test_served_notices(
        self, client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
    ) -> None:
        """F6: anonymous displays are counted (no per-reader rows); a logged-in reader gets a row."""
        version = await seed_and_commit(session)
        await client.get("/privacy/policy")
        await client.get("/privacy/policy/2023-02-22")
        await client.get("/api/v1/privacy/policy")
        assert await service.anonymous_notice_count(session, version, "web") == 2
        assert await service.anonymous_notice_count(session, version, "api") == 1
        assert (await session.execute(select(PolicyNotice))).scalars().all() == []
        user_id = uuid.uuid4()
        _, token = await start_session(session, tenant.id, user_id)
        await session.commit()
        client.cookies.set(SESSION_COOKIE, token)
        await client.get("/privacy/policy")
        notices = (await session.execute(select(PolicyNotice))).scalars().all()
        assert [(n.subject_id, n.tenant_id, n.channel, n.version_id) for n in notices] == [
            (user_id, tenant.id, "web", version.id)
        ]
        assert notices[0].served_at is not None
        assert await service.anonymous_notice_count(session, version) == 3

    async def test_no_policy_yet(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/privacy/policy")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "privacy.policy_unavailable"


class TestJsonTwins:
    async def test_current_policy(self, client: httpx.AsyncClient, session: AsyncSession) -> None:
        version = await seed_and_commit(session)
        body = (await client.get("/api/v1/privacy/policy")).json()
        assert body["version"] == "2023-02-22"
        assert body["text_hash"] == version.text_hash
        assert body["text_zh"] == service.initial_policy_text()
        assert body["text_en"] is None
        assert body["prevailing_language"] == "zh-CN"
        assert body["change_class"] == "material"
        assert body["effective_date"] == "2023-02-22"
        assert {p["code"] for p in body["purposes"]} == {p["code"] for p in PURPOSES}
        assert [row["entity_zh"] for row in body["third_parties"]] == [
            "深圳市腾讯计算机系统有限公司",
            "阿里云计算有限公司",
        ]

    async def test_versions_list_and_one_version(
        self, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        await seed_and_commit(session)
        await publish_next(session, "2024-03-01", ChangeClass.minor)
        await service.create_draft(
            session,
            version="2031-01-01",
            text_zh="草稿",
            effective_date=date(2031, 1, 1),
            change_class="minor",
        )
        await session.commit()
        body = (await client.get("/api/v1/privacy/policy/versions")).json()
        assert body["current"] == "2024-03-01"
        assert [item["version"] for item in body["items"]] == ["2024-03-01", "2023-02-22"]  # no drafts
        one = await client.get("/api/v1/privacy/policy/versions/2023-02-22")
        assert one.status_code == 200
        assert one.json()["text_zh"] == service.initial_policy_text()
        draft = await client.get("/api/v1/privacy/policy/versions/2031-01-01")
        assert draft.status_code == 404
        assert draft.json()["error"]["code"] == "privacy.policy_version_not_found"

    async def test_third_parties(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/api/v1/privacy/third-parties")).json()
        assert body["source"] == "egress_register"
        assert body["items"] == public_third_parties()
