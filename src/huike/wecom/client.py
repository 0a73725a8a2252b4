"""The async WeCom client. It would work unchanged against https://qyapi.weixin.qq.com/cgi-bin/ and
talks to the bundled emulator over HTTP the same way.

* Every call goes through the egress client (registered recipient ``wecom``; a timeout on each call).
* access_token is cached per (corp, secret) with one refresh in flight (:mod:`huike.wecom.tokens`),
  refreshed 5 minutes early, and fetched again *once* when WeCom rejects it (40014/42001/40001).
* -1, 45033 and 45009 are retried a bounded number of times with exponential back-off and jitter;
  every other errcode is raised as a typed error whose message tells the admin what to fix.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from pydantic import ValidationError

from huike.privacy.egress import EgressClient, EgressUnavailable
from huike.wecom import wire as s
from huike.wecom.errors import (
    TOKEN_ERRCODES,
    WeComBadResponse,
    WeComError,
    WeComRetryable,
    WeComTokenRejected,
    WeComUnreachable,
    from_errcode,
)
from huike.wecom.tokens import TokenCache, cache_key

log = structlog.get_logger(__name__)

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin"
EARLY_REFRESH_S = 300
IDS = ("customer_data.identifiers",)


@dataclass(frozen=True)
class WeComApp:
    """One app's credentials: the self-built app, or the customer-contact (客户联系) secret."""

    corp_id: str
    secret: str
    agent_id: int | None = None


class WeComClient:
    def __init__(
        self,
        app: WeComApp,
        egress: EgressClient,
        tokens: TokenCache,
        *,
        base_url: str = DEFAULT_BASE_URL,
        max_attempts: int = 3,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.egress = egress
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._sleep = sleep
        self._key = cache_key(app.corp_id, app.secret)

    # --- transport -----------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any],
        body: Any,
        categories: Sequence[str],
        ground: str,
    ) -> dict[str, Any]:
        try:
            response = await self.egress.request(
                "wecom",
                method,
                f"{self.base_url}/{path}",
                categories=categories,
                ground=ground,
                params=params,
                json=body,
            )
        except EgressUnavailable as exc:
            raise WeComUnreachable(api=path) from exc
        try:
            payload = response.json()
        except ValueError as exc:
            raise WeComBadResponse(api=path, status=response.status_code) from exc
        if not isinstance(payload, dict) or response.status_code != 200:
            raise WeComBadResponse(api=path, status=response.status_code)
        return payload

    async def access_token(self, *, refresh: bool = False, rejected: str | None = None) -> str:
        """The cached token, or a new one (only one refresh at a time per app)."""
        if rejected is not None:
            await self.tokens.invalidate(self._key, rejected)
        if not refresh and (token := await self.tokens.get(self._key)):
            return token
        async with self.tokens.refreshing(self._key):
            token = await self.tokens.get(self._key)
            if token and token != rejected:
                return token
            payload = await self._send(
                "GET",
                "gettoken",
                params={"corpid": self.app.corp_id, "corpsecret": self.app.secret},
                body=None,
                categories=("system.wecom_credentials",),
                ground="wecom.authenticate",
            )
            errcode = int(payload.get("errcode", 0))
            if errcode != 0:
                raise from_errcode(errcode, str(payload.get("errmsg", "")), path="gettoken", on_gettoken=True)
            token = str(payload["access_token"])
            ttl = max(60, int(payload.get("expires_in", 7200)) - EARLY_REFRESH_S)
            await self.tokens.set(self._key, token, ttl)
            log.info("wecom.token_refreshed", corp_id=self.app.corp_id)
            return token

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        categories: Sequence[str] = IDS,
        ground: str = "scrm",
    ) -> dict[str, Any]:
        """One API call with token handling and bounded retries; returns the JSON body (errcode 0)."""
        token = await self.access_token()
        token_retried = False
        attempt = 0
        while True:
            attempt += 1
            payload = await self._send(
                method,
                path,
                params={**(params or {}), "access_token": token},
                body=body,
                categories=categories,
                ground=ground,
            )
            errcode = int(payload.get("errcode", 0))
            if errcode == 0:
                return payload
            errmsg = str(payload.get("errmsg", ""))
            if errcode in TOKEN_ERRCODES or errcode == 40001:
                if token_retried:
                    raise WeComTokenRejected(errcode=errcode, api=path)
                token_retried = True
                token = await self.access_token(refresh=True, rejected=token)
                continue
            error = from_errcode(errcode, errmsg, path=path)
            if isinstance(error, WeComRetryable) and attempt < self.max_attempts:
                delay = min(self.backoff_cap_s, self.backoff_base_s * 2 ** (attempt - 1))
                delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311
                log.warning(
                    "wecom.retrying", api=path, errcode=errcode, attempt=attempt, delay_s=round(delay, 2)
                )
                await self._sleep(delay)
                continue
            raise error

    # --- organisation ----------------------------------------------------------------------------

    async def department_simplelist(self, department_id: int | None = None) -> list[s.Department]:
        params = {"id": department_id} if department_id is not None else {}
        payload = await self.call("GET", "department/simplelist", params=params, ground="org.sync")
        return _parse_list(s.Department, payload.get("department_id", []))

    async def user_list_id(self, *, cursor: str = "", limit: int = 10000) -> s.MemberIdPage:
        payload = await self.call(
            "POST", "user/list_id", body={"cursor": cursor, "limit": limit}, ground="org.sync"
        )
        return _parse(s.MemberIdPage, payload)

    async def user_get(self, userid: str) -> s.Member:
        return _parse(
            s.Member, await self.call("GET", "user/get", params={"userid": userid}, ground="org.sync")
        )

    async def auth_getuserinfo(self, code: str) -> s.LoginIdentity:
        payload = await self.call("GET", "auth/getuserinfo", params={"code": code}, ground="account.login")
        return _parse(
            s.LoginIdentity, {**payload, "userid": payload.get("userid") or payload.get("UserId", "")}
        )

    # --- customers (external contacts) ---------------------------------------------------------

    async def get_follow_user_list(self) -> list[str]:
        payload = await self.call("GET", "externalcontact/get_follow_user_list", ground="scrm.sync")
        return [str(u) for u in payload.get("follow_user", [])]

    async def list_external_contacts(self, userid: str) -> list[str]:
        try:
            payload = await self.call(
                "GET", "externalcontact/list", params={"userid": userid}, ground="scrm.sync"
            )
        except WeComError as error:
            if error.details.get("errcode") == 84061:  # WeCom's way of saying "no customers"
                return []
            raise
        return [str(u) for u in payload.get("external_userid", [])]

    async def get_external_contact(
        self, external_userid: str, *, cursor: str = ""
    ) -> s.ExternalContactDetail:
        params = {"external_userid": external_userid, **({"cursor": cursor} if cursor else {})}
        return _parse(
            s.ExternalContactDetail,
            await self.call("GET", "externalcontact/get", params=params, ground="scrm.sync"),
        )

    async def batch_get_by_user(
        self, userids: Sequence[str], *, cursor: str = "", limit: int = 100
    ) -> s.ExternalContactPage:
        body = {"userid_list": list(userids), "cursor": cursor, "limit": limit}
        payload = await self.call("POST", "externalcontact/batch/get_by_user", body=body, ground="scrm.sync")
        return _parse(s.ExternalContactPage, payload)

    async def remark(
        self,
        userid: str,
        external_userid: str,
        *,
        remark: str | None = None,
        description: str | None = None,
        remark_company: str | None = None,
        remark_mobiles: list[str] | None = None,
    ) -> None:
        body: dict[str, Any] = {"userid": userid, "external_userid": external_userid}
        for name, value in (
            ("remark", remark),
            ("description", description),
            ("remark_company", remark_company),
            ("remark_mobiles", remark_mobiles),
        ):
            if value is not None:
                body[name] = value
        await self.call(
            "POST",
            "externalcontact/remark",
            body=body,
            categories=("customer_data.external_contact.remark", *IDS),
            ground="scrm.remark",
        )

    # --- corp tags ---------------------------------------------------------------------------------

    async def get_corp_tag_list(
        self, *, tag_ids: Sequence[str] = (), group_ids: Sequence[str] = ()
    ) -> list[s.CorpTagGroup]:
        body = {"tag_id": list(tag_ids), "group_id": list(group_ids)}
        payload = await self.call("POST", "externalcontact/get_corp_tag_list", body=body, ground="scrm.tags")
        return _parse_list(s.CorpTagGroup, payload.get("tag_group", []))

    async def add_corp_tag(
        self,
        *,
        tags: Sequence[tuple[str, int]],
        group_id: str | None = None,
        group_name: str | None = None,
        order: int = 0,
    ) -> s.CorpTagGroup:
        body: dict[str, Any] = {
            "tag": [{"name": name, "order": tag_order} for name, tag_order in tags],
            "order": order,
        }
        if group_id:
            body["group_id"] = group_id
        if group_name:
            body["group_name"] = group_name
        if self.app.agent_id is not None:
            body["agentid"] = self.app.agent_id
        payload = await self.call(
            "POST",
            "externalcontact/add_corp_tag",
            body=body,
            categories=("customer_data.tags",),
            ground="scrm.tags",
        )
        return _parse(s.CorpTagGroup, payload.get("tag_group", {}))

    async def edit_corp_tag(self, id: str, *, name: str | None = None, order: int | None = None) -> None:
        body: dict[str, Any] = {"id": id}
        if name is not None:
            body["name"] = name
        if order is not None:
            body["order"] = order
        if self.app.agent_id is not None:
            body["agentid"] = self.app.agent_id
        await self.call(
            "POST",
            "externalcontact/edit_corp_tag",
            body=body,
            categories=("customer_data.tags",),
            ground="scrm.tags",
        )

    async def del_corp_tag(self, *, tag_ids: Sequence[str] = (), group_ids: Sequence[str] = ()) -> None:
        body: dict[str, Any] = {"tag_id": list(tag_ids), "group_id": list(group_ids)}
        if self.app.agent_id is not None:
            body["agentid"] = self.app.agent_id
        await self.call(
            "POST",
            "externalcontact/del_corp_tag",
            body=body,
            categories=("customer_data.tags",),
            ground="scrm.tags",
        )

    async def mark_tag(
        self, userid: str, external_userid: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        body = {
            "userid": userid,
            "external_userid": external_userid,
            "add_tag": list(add),
            "remove_tag": list(remove),
        }
        await self.call(
            "POST",
            "externalcontact/mark_tag",
            body=body,
            categories=("customer_data.external_contact.tags", *IDS),
            ground="scrm.tags",
        )

    # --- customer groups ---------------------------------------------------------------------------

    async def groupchat_list(
        self, *, status_filter: int = 0, owners: Sequence[str] = (), cursor: str = "", limit: int = 1000
    ) -> s.GroupChatPage:
        body: dict[str, Any] = {"status_filter": status_filter, "cursor": cursor, "limit": limit}
        if owners:
            body["owner_filter"] = {"userid_list": list(owners)}
        payload = await self.call("POST", "externalcontact/groupchat/list", body=body, ground="scrm.groups")
        return _parse(s.GroupChatPage, payload)

    async def groupchat_get(self, chat_id: str, *, need_name: bool = True) -> s.GroupChat:
        body = {"chat_id": chat_id, "need_name": 1 if need_name else 0}
        payload = await self.call("POST", "externalcontact/groupchat/get", body=body, ground="scrm.groups")
        return _parse(s.GroupChat, payload.get("group_chat", {}))


M = TypeVar("M", bound=s.WeComModel)


def _parse(model: type[M], payload: Any) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise WeComBadResponse(api=model.__name__) from exc


def _parse_list(model: type[M], payload: Any) -> list[M]:
    if not isinstance(payload, list):
        raise WeComBadResponse(api=model.__name__)
    return [_parse(model, item) for item in payload]
