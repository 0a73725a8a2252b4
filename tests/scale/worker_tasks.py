"""Tasks loaded into `huike worker` subprocesses by the scale-mode tests (HUIKE_EXTRA_TASK_MODULES)."""

from __future__ import annotations

import os

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from huike.core.tasks import JobContext, task

metadata = MetaData()
effects = Table(
    "scale_job_effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(50)),
    Column("pid", Integer),
)


@task("test.scale_effect", max_attempts=3, retry_base_s=0.5)
async def scale_effect(ctx: JobContext, key: str, crash_on_attempt: int = 0) -> None:
    await ctx.session.execute(insert(effects).values(key=key, pid=os.getpid()))
    await ctx.session.flush()
    if ctx.attempt == crash_on_attempt:
        os._exit(17)  # the process dies mid-job: no rollback, no ack, nothing
