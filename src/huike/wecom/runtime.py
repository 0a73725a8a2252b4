"""The process-wide pieces every WeCom client shares: the egress client and the token cache."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from huike.config import Settings
from huike.privacy.egress import EgressClient
from huike.wecom.client import DEFAULT_BASE_URL, WeComApp, WeComClient
from huike.wecom.tokens import MemoryTokenCache, RedisTokenCache, TokenCache


@dataclass
class WeComRuntime:
    egress: EgressClient
    tokens: TokenCache
    base_url: str

    def client(self, app: WeComApp) -> WeComClient:
        return WeComClient(app, self.egress, self.tokens, base_url=self.base_url)

    async def aclose(self) -> None:
        await self.egress.aclose()
        if isinstance(self.tokens, RedisTokenCache):
            await self.tokens.aclose()


def build_runtime(settings: Settings, *, egress: EgressClient | None = None) -> WeComRuntime:
    base_url = settings.wecom_base_url or DEFAULT_BASE_URL
    host = urlsplit(base_url).hostname or ""
    extra = {} if base_url == DEFAULT_BASE_URL else {"wecom": (host,)}
    tokens: TokenCache = RedisTokenCache(settings.redis_url) if settings.redis_url else MemoryTokenCache()
    return WeComRuntime(
        egress=egress or EgressClient(extra_hosts=extra, timeout=settings.wecom_timeout_s),
        tokens=tokens,
        base_url=base_url,
    )


_runtime: WeComRuntime | None = None


def set_wecom_runtime(runtime: WeComRuntime | None) -> None:
    global _runtime
    _runtime = runtime


def get_wecom_runtime() -> WeComRuntime:
    if _runtime is None:
        raise RuntimeError("WeCom runtime not configured")
    return _runtime
