"""What several replicas must share, in Redis (REDIS_URL): rate-limit windows and "told
once" notices.

Without REDIS_URL each process counts for itself (the in-memory `limits` storage and
`Notices`): with N replicas behind a load balancer a user may get up to N times the rate
limit, and the bot warns at start-up (`limits_per_process`). With it, the `limits` library's
own Redis storage keeps the moving windows, so a user counted on replica A is counted on B,
and a refusal is told once across replicas (`SET NX` with the wait as its expiry).

Redis failing is not a reason to refuse people: a hit or notice that cannot reach Redis
falls back to this process's own memory for that call, and `shared_state_unavailable` is
logged (at most once a minute).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bot.engine.policy.notices import Notices
from bot.engine.policy.ratelimit import MessageRateLimit
from bot.observability.logs import get_logger

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = get_logger(__name__)

WARN_EVERY_S = 60.0


class SharedState:
    """One Redis connection pool for the shared limits and notices of this process."""

    def __init__(self, url: str, *, prefix: str) -> None:
        import redis.asyncio as redis  # noqa: PLC0415 - only with REDIS_URL

        self.url = url
        self.prefix = prefix
        self.client: Redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._warned_at = -WARN_EVERY_S

    async def ping(self) -> None:
        """Raise unless Redis answers (for /healthz)."""
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()

    def unavailable(self, exc: Exception) -> None:
        """Log that Redis failed (at most once a minute), so that the fallback is visible."""
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning("shared_state_unavailable", error_type=type(exc).__name__)


class SharedRateLimit(MessageRateLimit):
    """A `MessageRateLimit` whose moving windows live in Redis (the `limits` library's)."""

    def __init__(self, messages: int, window_seconds: int, shared: SharedState, name: str) -> None:
        super().__init__(messages, window_seconds)
        from limits import RateLimitItemPerSecond  # noqa: PLC0415 - only with REDIS_URL
        from limits.aio.storage import RedisStorage  # noqa: PLC0415
        from limits.aio.strategies import MovingWindowRateLimiter  # noqa: PLC0415

        self._shared = shared
        storage = RedisStorage(
            shared.url,
            implementation="redispy",
            key_prefix=f"{shared.prefix}:limits:{name}",
            wrap_exceptions=True,
            # One pool, closed with `shared` (limits types its options narrower than it reads).
            connection_pool=shared.client.connection_pool,  # type: ignore[arg-type]
        )
        self._remote = MovingWindowRateLimiter(storage)
        self._remote_item = RateLimitItemPerSecond(max(messages, 1), window_seconds)

    async def hit(self, key: str) -> float | None:
        if not self.enabled:
            return None
        try:
            if await self._remote.hit(self._remote_item, key):
                return None
            stats = await self._remote.get_window_stats(self._remote_item, key)
        except Exception as exc:  # noqa: BLE001 - any Redis trouble: count in memory instead
            self._shared.unavailable(exc)
            return await super().hit(key)
        return max(0.0, stats.reset_time - time.time())


class SharedNotices(Notices):
    """`Notices` whose "told" marks live in Redis, so a refusal is told once across replicas."""

    def __init__(self, shared: SharedState, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shared = shared

    async def first_shared(self, key: tuple[object, ...], ttl: float) -> bool:
        """True if no replica told `key` within `ttl` seconds; it counts as told from now."""
        name = f"{self._shared.prefix}:told:" + ":".join(str(part) for part in key)
        try:
            return bool(await self._shared.client.set(name, 1, nx=True, px=max(int(ttl * 1000), 1)))
        except Exception as exc:  # noqa: BLE001 - any Redis trouble: remember in memory
            self._shared.unavailable(exc)
            return self.first(key, ttl)
