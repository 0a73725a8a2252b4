from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from huike.calendar import service
from huike.calendar.seed import seed_calendar
from huike.security import sessions


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    service.invalidate_cache()
    yield
    service.invalidate_cache()


@pytest_asyncio.fixture
async def seeded(session: AsyncSession) -> AsyncSession:
    """The session with the package's 2004–2026 committed to its savepoint (a failing request cannot
    roll it back)."""
    await seed_calendar(session)
    await session.commit()
    return session


# An illustrative 2027 schedule in the shape of the State Council's notice (not the official one):
# 元旦 01-01..01-03, 春节 02-06..02-14 with a make-up Saturday on 02-20.
SCHEDULE_2027 = {
    "holidays": [
        *({"date": f"2027-01-0{d}", "name_zh": "元旦", "name_en": "New Year's Day"} for d in (1, 2, 3)),
        *(
            {"date": f"2027-02-{d:02d}", "name_zh": "春节", "name_en": "Spring Festival"}
            for d in range(6, 15)
        ),
    ],
    "makeup_workdays": [{"date": "2027-02-20", "name_zh": "春节", "name_en": "Spring Festival"}],
}


@pytest_asyncio.fixture
async def operator(creator_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The logged-in client, able to write: it sends the session's CSRF value when the session layer
    asks for one (double submit: cookie and header). Platform operators do not exist yet, so calendar
    writes need the creator role (huike.permission)."""
    logged_in = creator_client
    csrf_token_for = getattr(sessions, "csrf_token_for", None)
    if csrf_token_for is not None:
        value = csrf_token_for(logged_in.cookies[sessions.SESSION_COOKIE])
        logged_in.cookies.set(sessions.CSRF_COOKIE, value)
        logged_in.headers[sessions.CSRF_HEADER] = value
    return logged_in
