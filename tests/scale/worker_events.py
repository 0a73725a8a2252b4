"""An event handler loaded into `huike worker` subprocesses by the callback kill test (only there:
importing it registers a handler for every add_external_contact event)."""

from __future__ import annotations

import os

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tenancy import TenantContext
from huike.wecom import events
from tests.scale.event_effects import effects

_seen = 0

# This worker tests delivery, not the customer domain: the real handlers re-read each customer from
# WeCom, which this worker cannot reach (the test's emulator lives in the test process). Only the
# counting handler below stays registered for the event.
events._HANDLERS.pop(("change_external_contact", "add_external_contact"), None)


@events.on("change_external_contact", "add_external_contact")
async def count_customer_added(session: AsyncSession, ctx: TenantContext, event: events.EventFields) -> None:
    global _seen
    await session.execute(
        insert(effects).values(external_userid=str(event["ExternalUserID"]), pid=os.getpid())
    )
    await session.flush()
    _seen += 1
    crash_after = int(os.environ.get("HUIKE_TEST_CRASH_AFTER", "0"))
    if crash_after and _seen >= crash_after:
        os._exit(17)  # dies mid-batch: nothing of this batch commits, nothing is acknowledged
