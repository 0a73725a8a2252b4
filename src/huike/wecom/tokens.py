"""access_token caches: one token per (corp, secret), one refresh in flight at a time.

In memory for embedded mode; in Redis for scale mode so every web and worker process shares one token
and one refresh (a SET NX lock), instead of each stampeding gettoken and tripping 45009."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol


def cache_key(corp_id: str, secret: str) -> str:
    # the secret itself never becomes a key: a short hash tells apps apart
    return f"wecom:token:{corp_id}:{hashlib.sha256(secret.encode()).hexdigest()[:16]}"


class TokenCache(Protocol):
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, token: str, ttl_s: float) -> None: ...
    async def invalidate(self, key: str, token: str) -> None: ...
    def refreshing(self, key: str) -> contextlib.AbstractAsyncContextManager[None]: ...


class MemoryTokenCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._clock = clock

    async def get(self, key: str) -> str | None:
        entry = self._tokens.get(key)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    async def set(self, key: str, token: str, ttl_s: float) -> None:
        self._tokens[key] = (token, self._clock() + ttl_s)

    async def invalidate(self, key: str, token: str) -> None:
        entry = self._tokens.get(key)
        if entry is not None and entry[0] == token:
            del self._tokens[key]

    @contextlib.asynccontextmanager
    async def refreshing(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            yield


class RedisTokenCache:
    """Shared by every process of a deployment. The lock expires on its own if its holder dies."""

    def __init__(self, redis_url: str, *, lock_ttl_ms: int = 10_000) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(redis_url, decode_responses=True)
        self._lock_ttl_ms = lock_ttl_ms

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(key)
        return str(value) if value is not None else None

    async def set(self, key: str, token: str, ttl_s: float) -> None:
        await self._redis.set(key, token, px=max(1, int(ttl_s * 1000)))

    async def invalidate(self, key: str, token: str) -> None:
        # delete only if it is still the token we saw fail (another process may have refreshed it)
        script = (
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
        )
        await self._redis.eval(script, 1, key, token)

    @contextlib.asynccontextmanager
    async def refreshing(self, key: str) -> AsyncIterator[None]:
        lock_key = key + ":lock"
        deadline = time.monotonic() + self._lock_ttl_ms / 1000
        while not await self._redis.set(lock_key, "1", nx=True, px=self._lock_ttl_ms):
            if time.monotonic() > deadline:
                break  # the holder died; its lock expires anyway
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            await self._redis.delete(lock_key)

    async def aclose(self) -> None:
        await self._redis.aclose()
