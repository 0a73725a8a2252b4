"""``huike sync``: the domains' full syncs run in the command's process as their own jobs, with a
summary; a sync already running is named precisely and nothing starts; a failing sync fails its job at
once and the command exits non-zero with the error's translated message."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import timedelta

import httpx
import pytest
from click.testing import Result
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from huike import runtime as runtime_module
from huike.cli import app
from huike.core.db import commit, utcnow
from huike.core.tasks import Job
from huike.external_contact.models import ExternalContact
from huike.group_chat.models import GroupChat
from huike.member.models import Member
from huike.sync import cli as sync_cli
from huike.tag.models import Tag
from huike.tenant.models import Tenant
from tests.sync.conftest import COMPANY, Env

KINDS = ("member", "tag", "external_contact", "group_chat")


async def huike_sync(env: Env, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """Run ``huike sync …`` as a user would (Typer, its own event loop) against the emulator."""
    monkeypatch.setattr(sync_cli, "get_settings", lambda: env.settings)
    monkeypatch.setattr(runtime_module, "build_runtime", lambda settings: env.wecom())
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, app, ["sync", *args], env={"COLUMNS": "160"})


def summary(output: str) -> dict[str, list[str]]:
    """The summary table's rows by their first cell."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 7:
            rows[cells[0]] = cells[1:]
    return rows


async def jobs_of(env: Env, kind: str) -> list[Job]:
    async with env.db.read_sessionmaker() as session:  # no write lock: a sync may hold it (SQLite)
        rows = await session.execute(
            select(Job).where(Job.tenant_id == env.tenant_id, Job.kind == kind).order_by(Job.created_at)
        )
        return list(rows.scalars())


async def test_sync_all_runs_the_four_syncs_in_order_and_a_rerun_changes_nothing(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = env.state
    result = await huike_sync(env, monkeypatch, "all", "--tenant", COMPANY, "--lang", "en")
    assert result.exit_code == 0, result.output
    rows = summary(result.stdout)
    customers = state.store.scalar("SELECT count(*) FROM customer")
    groups = state.store.scalar("SELECT count(*) FROM groupchat")
    tags = state.store.scalar("SELECT count(*) FROM tag") + state.store.scalar(
        "SELECT count(*) FROM tag_group"
    )
    members = state.store.scalar("SELECT count(*) FROM member")
    assert list(rows) == ["member", "tag", "customer", "customer group"]
    assert rows["member"][:3] == ["succeeded", str(members), "0"]
    assert rows["tag"][:3] == ["succeeded", str(tags), "0"]
    assert rows["customer"][:3] == ["succeeded", str(customers), "0"]
    assert rows["customer group"][:3] == ["succeeded", str(groups), "0"]
    assert f"Sync of {COMPANY}" in result.stdout
    assert "100%" in result.stderr  # the bars, fed by the jobs' progress reports
    assert await env.count(Member, Member.tenant_id == env.tenant_id) == members
    assert await env.count(Tag, Tag.tenant_id == env.tenant_id) == tags - state.store.scalar(
        "SELECT count(*) FROM tag_group"
    )
    assert await env.count(ExternalContact, ExternalContact.tenant_id == env.tenant_id) == customers
    assert await env.count(GroupChat, GroupChat.tenant_id == env.tenant_id) == groups
    # each ran as its domain's job, which the job centre lists, in this order
    ran = [await jobs_of(env, f"{kind}.sync_from_wecom") for kind in KINDS]
    assert [[(j.status, j.progress == (j.total or 100)) for j in jobs] for jobs in ran] == [
        [("succeeded", True)]
    ] * 4
    starts = [jobs[0].started_at for jobs in ran]
    assert starts == sorted(starts)

    # a rerun over an unchanged corp: nothing created or updated, and no detail is read again
    env.transport.calls.clear()
    again = await huike_sync(env, monkeypatch, "all", "--tenant", str(env.tenant_id), "--lang", "en")
    assert again.exit_code == 0, again.output
    for name, cells in summary(again.stdout).items():
        assert cells[:4] == ["succeeded", "0", "0", "0"], name
    assert summary(again.stdout)["customer"][4] == str(customers)
    for detail in ("user/get", "department/get", "externalcontact/groupchat/get"):
        assert env.transport.calls[detail] == 0, detail


async def test_a_sync_already_running_is_named_and_nothing_starts(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with env.db.sessionmaker() as session:
        running = Job(
            tenant_id=env.tenant_id,
            kind="external_contact.sync_from_wecom",
            status="running",
            progress=40,
            total=100,
            started_at=utcnow() - timedelta(minutes=3),
        )
        session.add(running)
        await commit(session)

    result = await huike_sync(env, monkeypatch, "all", "--tenant", COMPANY, "--lang", "en")
    assert result.exit_code == sync_cli.EXIT_BUSY
    message = " ".join(result.stderr.split())
    assert f"A customer sync is already running: job {running.id} (running, 40% done, started" in message
    assert not await jobs_of(env, "member.sync_from_wecom")  # `all` starts nothing while one runs

    zh = await huike_sync(env, monkeypatch, "customers", "--tenant", COMPANY, "--lang", "zh-CN")
    assert zh.exit_code == sync_cli.EXIT_BUSY
    assert f"客户同步已在进行中：任务{running.id}（运行中，进度40%" in "".join(zh.stderr.split())
    assert [j.id for j in await jobs_of(env, "external_contact.sync_from_wecom")] == [running.id]

    # other domains are not held back by it
    tags = await huike_sync(env, monkeypatch, "tags", "--tenant", COMPANY)
    assert tags.exit_code == 0, tags.output


async def test_a_failing_sync_exits_non_zero_with_the_translated_error_and_can_run_again(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.state.faults.inject("externalcontact/batch/get_by_user", 48002)  # the app may not call it
    result = await huike_sync(env, monkeypatch, "customers", "--tenant", COMPANY, "--lang", "zh-CN")
    assert result.exit_code == sync_cli.EXIT_FAILED
    assert "该应用无权调用此接口" in "".join(result.stderr.split())
    assert "失败" in summary(result.stdout)["客户"][0]
    [job] = await jobs_of(env, "external_contact.sync_from_wecom")
    assert job.status == "failed"  # at once: nobody would run a retry, and it would block the next run
    assert job.error is not None

    english = await huike_sync(env, monkeypatch, "customers", "--tenant", COMPANY, "--lang", "en")
    assert english.exit_code == 0, english.output  # the fault is spent; the failed job blocks nothing


async def test_the_tenant_is_found_by_id_or_exact_name_only(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = await huike_sync(env, monkeypatch, "tags", "--tenant", "没有这家公司", "--lang", "en")
    assert missing.exit_code == sync_cli.EXIT_FAILED
    assert "No tenant '没有这家公司'" in missing.stderr
    unknown_id = await huike_sync(env, monkeypatch, "tags", "--tenant", str(uuid.uuid4()), "--lang", "en")
    assert unknown_id.exit_code == sync_cli.EXIT_FAILED

    async with env.db.sessionmaker() as session:
        twin = Tenant(name=COMPANY)
        session.add(twin)
        await commit(session)
    ambiguous = await huike_sync(env, monkeypatch, "tags", "--tenant", COMPANY, "--lang", "en")
    assert ambiguous.exit_code == sync_cli.EXIT_FAILED
    assert str(twin.id) in ambiguous.stderr.replace("\n", "")
    assert not await jobs_of(env, "tag.sync_from_wecom")


class Gate(httpx.AsyncBaseTransport):
    """Holds the calls of one API path until released (a sync caught mid-way)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, path: str) -> None:
        self.inner, self.path = inner, path
        self.reached, self.release = asyncio.Event(), asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(self.path):
            self.reached.set()
            await self.release.wait()
        return await self.inner.handle_async_request(request)


async def test_an_interrupted_sync_leaves_its_job_failed_not_blocking(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(env.transport, "externalcontact/batch/get_by_user")
    env.transport = gate  # type: ignore[assignment]
    monkeypatch.setattr(runtime_module, "build_runtime", lambda settings: env.wecom())
    quiet = Console(file=io.StringIO())
    command = asyncio.create_task(sync_cli.run(env.settings, COMPANY, ["customers"], err=quiet, out=quiet))
    await asyncio.wait_for(gate.reached.wait(), timeout=30)
    [job] = await jobs_of(env, "external_contact.sync_from_wecom")
    assert job.status == "running"
    command.cancel()  # what Ctrl-C does to asyncio.run's task
    with pytest.raises(asyncio.CancelledError):
        await command
    [job] = await jobs_of(env, "external_contact.sync_from_wecom")
    assert (job.status, job.error) == ("failed", "interrupted")

    gate.release.set()
    again = await huike_sync(env, monkeypatch, "customers", "--tenant", COMPANY, "--lang", "en")
    assert again.exit_code == 0, again.output
