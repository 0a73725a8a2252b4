"""The job centre API the console polls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.core.tasks import Job, JobContext, JobStatus, Outbox, OutboxStatus, task
from huike.tenant.models import Tenant
from tests.support import RecordingDispatcher


@task("test.job_center")
async def job_center_task(ctx: JobContext, size: int) -> None:
    return None


async def make_jobs(session: AsyncSession, tenant: Tenant, count: int) -> list[Job]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    jobs = [
        Job(
            tenant_id=tenant.id,
            kind="test.job_center",
            status=JobStatus.succeeded,
            created_at=start + timedelta(minutes=i),
        )
        for i in range(count)
    ]
    session.add_all(jobs)
    await session.commit()
    return jobs


class TestListJobs:
    async def test_requires_login(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/jobs")
        assert response.status_code == 401

    async def test_newest_first_with_keyset_pages(
        self, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
    ) -> None:
        jobs = await make_jobs(session, tenant, 5)
        first = (await logged_in.get("/api/v1/jobs", params={"limit": 2})).json()
        assert [item["id"] for item in first["items"]] == [str(jobs[4].id), str(jobs[3].id)]
        second = (
            await logged_in.get("/api/v1/jobs", params={"limit": 2, "cursor": first["next_cursor"]})
        ).json()
        assert [item["id"] for item in second["items"]] == [str(jobs[2].id), str(jobs[1].id)]
        third = (
            await logged_in.get("/api/v1/jobs", params={"limit": 2, "cursor": second["next_cursor"]})
        ).json()
        assert [item["id"] for item in third["items"]] == [str(jobs[0].id)]
        assert third["next_cursor"] is None

    async def test_filter_by_status(
        self, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
    ) -> None:
        await make_jobs(session, tenant, 2)
        failed = Job(
            tenant_id=tenant.id, kind="test.job_center", status=JobStatus.failed, error="ValueError: x"
        )
        session.add(failed)
        await session.commit()
        body = (await logged_in.get("/api/v1/jobs", params={"status": "failed"})).json()
        assert [(item["id"], item["error"]) for item in body["items"]] == [(str(failed.id), "ValueError: x")]

    async def test_bad_cursor_and_limit(self, logged_in: httpx.AsyncClient) -> None:
        bad_cursor = await logged_in.get("/api/v1/jobs", params={"cursor": "not-a-cursor"})
        assert bad_cursor.status_code == 400
        assert bad_cursor.json()["error"]["code"] == "pagination.invalid_cursor"
        bad_limit = await logged_in.get("/api/v1/jobs", params={"limit": 1000})
        assert bad_limit.status_code == 422
        assert bad_limit.json()["error"]["details"]["fields"][0]["location"] == ["query", "limit"]


class TestRetryJob:
    async def test_failed_job_is_queued_again(
        self,
        logged_in: httpx.AsyncClient,
        session: AsyncSession,
        tenant: Tenant,
        dispatcher: RecordingDispatcher,
    ) -> None:
        job = Job(tenant_id=tenant.id, kind="test.job_center", status=JobStatus.failed, error="ValueError: x")
        session.add(job)
        await session.flush()
        session.add(
            Outbox(
                task="test.job_center",
                payload={"size": 3},
                tenant_id=tenant.id,
                job_id=job.id,
                status="failed",
            )
        )
        await session.commit()
        response = await logged_in.post(f"/api/v1/jobs/{job.id}/retry")
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["error"]) == ("queued", None)
        pending = (
            await session.execute(
                select(Outbox).where(Outbox.job_id == job.id, Outbox.status == OutboxStatus.pending)
            )
        ).scalar_one()
        assert pending.payload == {"size": 3}
        assert dispatcher.dispatched == [pending.id]

    async def test_only_failed_jobs_retry(
        self, logged_in: httpx.AsyncClient, session: AsyncSession, tenant: Tenant
    ) -> None:
        (job,) = await make_jobs(session, tenant, 1)
        response = await logged_in.post(f"/api/v1/jobs/{job.id}/retry", headers={"accept-language": "en"})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "job.not_retryable"
        assert response.json()["error"]["message"] == "Only a failed job can be retried."
