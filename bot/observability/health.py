"""What `/healthz` answers: 200 when the bot is receiving updates and the database answers,
503 with the reason otherwise (200 with status "degraded" when only something optional is down).

The server itself (`/healthz` and `/metrics`, the same in every mode) is in health_server.py,
imported only when HEALTH_PORT is set: this module, which every mode needs (`Degraded`), does
not import aiohttp.web.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

DEGRADED = "degraded: "  # a probe's reason that starts so is served with 200
Probe = Callable[[], Awaitable[str | None]]  # None when healthy, else the reason in plain words
ReceivingProblem = Callable[[], str | None]
Ping = Callable[[], Awaitable[object]]  # returns when the database answers, raises otherwise

DB_TIMEOUT_S = 3.0


class Degraded(Exception):  # a state rather than an error: the bot still works
    """Raised by a ping when something optional is down (Redis): /healthz stays 200, with
    status "degraded" and the reason, so that a load balancer keeps the replica in."""


def readiness(receiving: ReceivingProblem, ping: Ping, timeout: float = DB_TIMEOUT_S) -> Probe:
    """Healthy when the channel receives updates and the database answers `ping` within
    `timeout`; any exception from `ping` means unhealthy, never a failed request."""

    async def probe() -> str | None:
        if (problem := receiving()) is not None:
            return problem
        try:
            await asyncio.wait_for(ping(), timeout)
        except Degraded as exc:
            return f"{DEGRADED}{exc}"
        except TimeoutError:
            return f"the database did not answer within {timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - any database failure is "unhealthy", not a crash
            return f"the database is unavailable ({type(exc).__name__})"
        return None

    return probe
