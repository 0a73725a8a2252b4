"""The demo company that ``make run`` seeds: 「汇客演示科技」, connected to the embedded WeCom emulator's
demo corp (wecom_emulator.demo: a few thousand customers, a few dozen groups), with its departments,
members, tags, customers and groups synced, and how to log in.

:func:`seed_demo` is idempotent. ``huike run`` calls it *after the server listens*, inside the server's
event loop (e.g. a task started once uvicorn reports ``started``)::

    info = await seed_demo(settings, f"http://127.0.0.1:{port}{EMULATOR_PREFIX}")
    console.print(info.banner(f"http://{host}:{port}"))

There it uses the running server's runtime (database, key ring, WeCom client pointed at the mounted
emulator, job runtime): the sync jobs go to the server's own broker and the seed waits for each.
The banner (how to log in) can be printed once the members are synced (``on_ready``); the tag,
customer and group syncs follow, in that order (huike.sync.service.ORDER).
Without a running runtime (``huike demo seed``, tests) it starts one of its own without a broker and
runs the job in place; ``transport`` (tests only) then serves the emulator's app in process. Nothing
here imports an HTTP library: every call goes through the egress client (src/huike's lint).

Everything goes through the services: the admin registers through the account service (SMS code
from a provider that hands it back in process, the policy accepted, the phone encrypted, audited),
the connection through the WeCom service (secrets encrypted, verified), each sync as a job with its
job row (executed in place, or by the server's workers), one member invited.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Annotated, Any
from urllib.parse import urlsplit

import structlog
import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.config import Settings

log = structlog.get_logger(__name__)

DEMO_COMPANY = "汇客演示科技"
DEMO_PHONE = "13800000000"
DEMO_PASSWORD = "Huike-Demo-2026"  # noqa: S105 - the published demo login, not a secret
DEMO_INDUSTRY = "professional_services"
DEMO_CORP = "ww7a3c9e0d1f2b4c5d"  # wecom_emulator.cli.DEMO_CORP
SEED_USER_AGENT = "huike-demo-seed"


@dataclass(frozen=True)
class DemoInfo:
    """What ``huike run`` prints: how to log in, and what was seeded."""

    company: str
    tenant_id: uuid.UUID
    phone: str
    password: str
    corp_id: str
    agent_id: int
    sync_job_id: uuid.UUID | None
    sync_status: str
    members: int
    departments: int
    invited_userid: str | None
    created: bool
    # the customer data, once the tag, customer and group syncs ran (after the banner)
    syncs: dict[str, str] = field(default_factory=dict)  # domain -> job status
    tags: int = 0
    customers: int = 0
    groups: int = 0
    seconds: float = 0.0  # how long the whole seed took

    def data_line(self) -> str:
        """What ``huike run`` prints when the customer data is there too."""
        states = ", ".join(f"{name} {status}" for name, status in self.syncs.items())
        return (
            f"Demo data of {self.company}: {self.customers:,} customers, {self.groups} customer groups, "
            f"{self.tags} tags ({states}; {self.seconds:.1f} s after the seed began)"
        )

    def banner(self, base_url: str = "http://127.0.0.1:8000") -> str:
        lines = [
            f"Demo company {self.company} (WeCom corp {self.corp_id}):",
            f"  log in at {base_url}/ with phone {self.phone} and password {self.password}",
            f"  {self.members} members in {self.departments} departments (member sync: {self.sync_status})",
        ]
        if self.invited_userid:
            lines.append(
                f"  WeCom QR login: choose {self.invited_userid} on the emulator's login page "
                "(an invited member; the login activates their account)"
            )
        return "\n".join(lines)


@dataclass
class _CapturedSms:
    """An SMS provider that keeps the code in process (the seed is its own recipient)."""

    name: str = "demo-seed"
    codes: dict[str, str] = field(default_factory=dict)

    async def send(self, message: Any, *, session: AsyncSession | None = None) -> None:
        self.codes[message.phone] = message.code


def _reach(emulator_base_url: str, transport: Any) -> str:
    """The base URL to call: an in-process transport serves the emulator's own app, so the prefix it
    is mounted under (``/_wecom``) goes; over HTTP the full base URL."""
    base = emulator_base_url.rstrip("/")
    if transport is None:
        return base
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class _Runtime:
    sessionmaker: Any
    jobs: Any
    egress: Any


@contextlib.asynccontextmanager
async def _process(settings: Settings, emulator_base_url: str, transport: Any) -> AsyncIterator[_Runtime]:
    """The running server's runtime when there is one (``huike run`` after it listens), else one of
    our own without a broker (jobs run in place) whose WeCom calls go to the emulator."""
    from huike import runtime
    from huike.core.tasks import get_runtime
    from huike.privacy.egress import EgressClient
    from huike.wecom.runtime import get_wecom_runtime

    if transport is None:
        try:
            jobs, wecom = get_runtime(), get_wecom_runtime()
        except RuntimeError:
            pass
        else:
            yield _Runtime(jobs.sessionmaker, jobs, wecom.egress)
            return
    base = _reach(emulator_base_url, transport)
    settings = settings.model_copy(update={"wecom_base_url": f"{base}/cgi-bin"})
    process = await runtime.start(settings, start_broker=False)
    process.jobs.dispatcher = None
    if transport is not None:
        await process.wecom.egress.aclose()
        host = urlsplit(base).hostname or "127.0.0.1"
        process.wecom.egress = EgressClient(transport=transport, extra_hosts={"wecom": (host,)})
    try:
        yield _Runtime(process.db.sessionmaker, process.jobs, process.wecom.egress)
    finally:
        await runtime.stop(process)


async def _emulator_corp(egress: Any, emulator_base_url: str, transport: Any) -> dict[str, Any]:
    """The demo corp and its secrets, as the emulator's control API lists them (through the egress
    client, to the WeCom recipient the emulator stands in for)."""
    response = await egress.request(
        "wecom",
        "GET",
        f"{_reach(emulator_base_url, transport)}/_emulator/corps",
        categories=("system.wecom_credentials",),
        ground="wecom.authenticate",
    )
    if response.status_code != 200:
        raise RuntimeError(f"the WeCom emulator answered {response.status_code} for its corps")
    corps: list[dict[str, Any]] = response.json()
    if not corps:
        raise RuntimeError("the WeCom emulator has no corp to connect the demo company to")
    return next((c for c in corps if c["corp_id"] == DEMO_CORP), corps[0])


async def _wait_for(sessionmaker: Any, job_id: uuid.UUID, timeout_s: float = 600.0) -> Any:
    """Someone else's workers run the job: the job row once it finished (None after the timeout)."""
    from huike.sync.service import wait_for

    try:
        return await asyncio.wait_for(wait_for(sessionmaker, job_id), timeout=timeout_s)
    except TimeoutError:
        return None


async def _admin(session: AsyncSession, settings: Settings) -> tuple[uuid.UUID, uuid.UUID, bool]:
    """(user id, tenant id, created): the demo admin, registered through the account service once."""
    from huike.account import repository as accounts
    from huike.account import service as account
    from huike.account.models import SmsPurpose
    from huike.privacy.policy import service as policy

    e164 = account.normalise_mobile(DEMO_PHONE)
    user = await accounts.user_by_phone(session, e164)
    if user is not None:
        memberships = await accounts.memberships_of(session, user.id)
        if memberships:
            return user.id, memberships[0].tenant_id, False
    client = account.Client(ip=None, user_agent=SEED_USER_AGENT)
    sms = _CapturedSms()
    await account.send_code(
        session, settings, sms, phone=DEMO_PHONE, purpose=SmsPurpose.register, client=client
    )
    current = await policy.current_version(session)
    result = await account.register(
        session,
        settings,
        account.RegistrationData(
            phone=DEMO_PHONE,
            sms_code=sms.codes[e164],
            password=DEMO_PASSWORD,
            company_name=DEMO_COMPANY,
            industry=DEMO_INDUSTRY,
            adult_or_guardian=True,
            company_authorised=True,
            policy_version=current.version,
        ),
        client,
    )
    assert isinstance(result, account.LoggedIn)  # an adult registrant: never pending a guardian
    return result.user.id, result.membership.tenant_id, True


async def _run_sync(process: _Runtime, ctx: Any, name: str) -> Any:
    """One domain's full sync as its job (huike.sync): run here, or by the server's workers; the
    job row when it finished (or the one that was already running)."""
    from huike.core.db import commit, rollback
    from huike.sync import service as sync
    from huike.sync.errors import SyncAlreadyRunning

    async with process.sessionmaker() as session:
        try:
            started = await sync.start(session, ctx, sync.DOMAINS[name])
        except SyncAlreadyRunning as running:
            await rollback(session)
            return await _wait_for(process.sessionmaker, uuid.UUID(str(running.details["job_id"])))
        await commit(session)
    try:
        return await asyncio.wait_for(sync.run_job(process.jobs, started), timeout=600)
    except TimeoutError:
        return None


async def _count(session: AsyncSession, model: Any, *where: Any) -> int:
    from sqlalchemy import func

    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def seed_demo(
    settings: Settings,
    emulator_base_url: str,
    *,
    transport: Any = None,
    on_ready: Callable[[DemoInfo], None] | None = None,
) -> DemoInfo:
    """Seed (or find) the demo company; see the module's docstring for how to call it. ``on_ready``
    hears as soon as one can log in (members synced), before the customer data is synced."""
    from huike.account.service import ensure_platform_defaults
    from huike.core.db import commit
    from huike.core.tenancy import TenantContext
    from huike.external_contact.models import ExternalContact
    from huike.group_chat.models import GroupChat
    from huike.member.models import Department, Member
    from huike.privacy.policy.service import ensure_initial_policy
    from huike.tag.models import Tag
    from huike.wecom import service as wecom
    from huike.wecom.schemas import ConnectionIn

    began = time.perf_counter()
    async with _process(settings, emulator_base_url, transport) as process:
        corp = await _emulator_corp(process.egress, emulator_base_url, transport)
        async with process.sessionmaker() as session:
            await ensure_initial_policy(session)
            await ensure_platform_defaults(session)
            user_id, tenant_id, created = await _admin(session, settings)
            ctx = TenantContext(tenant_id, user_id)
            connection = await wecom.get_connection(session, ctx)
            if (
                connection is None
                or connection.corp_id != corp["corp_id"]
                or connection.status != "connected"
            ):
                await wecom.save_connection(
                    session,
                    ctx,
                    ConnectionIn(
                        corp_id=corp["corp_id"],
                        agent_id=int(corp["agent_id"]),
                        app_secret=corp["app_secret"],
                        contact_secret=corp["contact_secret"],
                    ),
                )
            await commit(session)
        done = await _run_sync(process, ctx, "members")
        async with process.sessionmaker() as session:
            invited = await _invite_one(session, ctx)
            member_count = len(
                (await session.execute(select(Member.id).where(Member.tenant_id == tenant_id))).all()
            )
            department_count = len(
                (
                    await session.execute(
                        select(Department.id).where(
                            Department.tenant_id == tenant_id, Department.deleted_at.is_(None)
                        )
                    )
                ).all()
            )
            await commit(session)
        info = DemoInfo(
            company=DEMO_COMPANY,
            tenant_id=tenant_id,
            phone=DEMO_PHONE,
            password=DEMO_PASSWORD,
            corp_id=corp["corp_id"],
            agent_id=int(corp["agent_id"]),
            sync_job_id=done.id if done else None,
            sync_status=str(done.status) if done else "unknown",
            members=member_count,
            departments=department_count,
            invited_userid=invited,
            created=created,
            syncs={"members": str(done.status) if done else "unknown"},
        )
        if on_ready is not None:
            on_ready(info)
        # then the customer data: tags (customers carry them), customers, groups, one job each
        syncs = dict(info.syncs)
        for name in ("tags", "customers", "groups"):
            job = await _run_sync(process, ctx, name)
            syncs[name] = str(job.status) if job is not None else "unknown"
        async with process.sessionmaker() as session:
            info = replace(
                info,
                syncs=syncs,
                tags=await _count(session, Tag, Tag.tenant_id == tenant_id, Tag.deleted.is_(False)),
                customers=await _count(session, ExternalContact, ExternalContact.tenant_id == tenant_id),
                groups=await _count(session, GroupChat, GroupChat.tenant_id == tenant_id),
                seconds=time.perf_counter() - began,
            )
    log.info(
        "demo.seeded",
        created=created,
        members=member_count,
        customers=info.customers,
        groups=info.groups,
        seconds=round(info.seconds, 1),
        **{f"{name}_sync": status for name, status in info.syncs.items()},
    )
    return info


async def _invite_one(session: AsyncSession, ctx: Any) -> str | None:
    """Invite the first active member in scope (once), so the QR login can be tried."""
    from huike.member import service as members
    from huike.member.models import Member as member_model
    from huike.member.models import MemberInvitation as invitation_model

    invitation = (
        await session.execute(
            select(member_model.wecom_userid)
            .join(invitation_model, invitation_model.member_id == member_model.id)
            .where(member_model.tenant_id == ctx.tenant_id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if invitation is not None:
        return str(invitation)
    candidate = (
        await session.execute(
            select(member_model.id, member_model.wecom_userid)
            .where(
                member_model.tenant_id == ctx.tenant_id,
                member_model.in_scope.is_(True),
                member_model.deleted_at.is_(None),
                member_model.status == "active",
                member_model.user_id.is_(None),
            )
            .order_by(member_model.wecom_userid)
            .limit(1)
        )
    ).first()
    if candidate is None:
        return None
    await members.invite(session, ctx, candidate[0])
    return str(candidate[1])


# --- huike demo seed --------------------------------------------------------------------------------

demo_app = typer.Typer(
    help="The demo company (汇客演示科技) on the bundled WeCom emulator.", no_args_is_help=True
)


@demo_app.command("seed")
def seed_command(
    emulator_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL of a running emulator (its /_emulator and /cgi-bin). Default: "
            "HUIKE_WECOM_BASE_URL without /cgi-bin, else the one a running `huike run` mounts."
        ),
    ] = None,
) -> None:
    """Seed the demo company idempotently (run `huike migrate` first) and print how to log in."""
    from huike.config import get_settings
    from huike.security.kms import ensure_master_key

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_master_key(settings)
    if emulator_url is None:
        emulator_url = (settings.wecom_base_url or "http://127.0.0.1:8000/_wecom/cgi-bin").rstrip("/")
        emulator_url = emulator_url.removesuffix("/cgi-bin")
    info = asyncio.run(seed_demo(settings, emulator_url, on_ready=lambda ready: typer.echo(ready.banner())))
    typer.echo(info.data_line())
