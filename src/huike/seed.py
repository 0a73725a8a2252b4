"""Platform data every installation needs, seeded idempotently after migrating: the privacy policy's
first version, the default sales territory, and the working-day calendar."""

from __future__ import annotations

from huike import registry
from huike.core.db import Database, commit


async def seed_platform(url: str) -> None:
    from huike.account.service import ensure_platform_defaults
    from huike.calendar.seed import seed_calendar
    from huike.privacy.policy.service import ensure_initial_policy

    registry.load()
    db = Database(url)
    try:
        async with db.sessionmaker() as session:
            await ensure_initial_policy(session)
            await ensure_platform_defaults(session)
            await seed_calendar(session)
            await commit(session)
    finally:
        await db.dispose()
