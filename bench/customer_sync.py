"""Benchmark: full customer sync from the WeCom emulator, against just fetching the same pages.

    python -m bench.customer_sync                        # 100,000 customers, SQLite file
    python -m bench.customer_sync --database-url postgresql+asyncpg://postgres@127.0.0.1/huike_bench_sync

For each size (N/10, then N) it seeds an emulator state file, serves it over HTTP (uvicorn in a
subprocess, one worker) and, in a fresh process per size (so peak RSS is that size's alone):

* connects a tenant on a fresh database and syncs members and tags (not timed);
* **fetch**: the pages the sync reads — ``get_follow_user_list``, then ``batch/get_by_user`` over the
  same chunks of 100 UserIDs with the same page size, through the same WeCom client — and nothing else;
* **sync**: ``external_contact.service.sync_from_wecom`` as the job runs it (a commit per page);
* **rerun**: the same sync again with nothing changed.

It prints the times, the ratio sync/fetch (target ≤ 1.5), the sync's CPU time (all threads of the
measuring process: steadier than wall time on a shared machine) and peak RSS at both sizes (target:
flat).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORP = "ww5c0ffee0bench0sync"


def emulator_app() -> Any:
    """The emulator over the state file named by BENCH_EMULATOR_STATE (uvicorn factory)."""
    from wecom_emulator import Clock, EmulatorState
    from wecom_emulator.app import create_app

    return create_app(EmulatorState(path=os.environ["BENCH_EMULATOR_STATE"], clock=Clock()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(state_path: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.customer_sync:emulator_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "BENCH_EMULATOR_STATE": state_path},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the emulator did not start")


def seed(path: str, customers: int, members: int) -> dict[str, Any]:
    from wecom_emulator import Clock, EmulatorState
    from wecom_emulator.seed import seed_company

    state = EmulatorState(path=path, clock=Clock())
    report = seed_company(
        state, CORP, members=members, external_contacts=customers, groups=0, tags=200, seed=3
    )
    state.store.conn.execute("UPDATE member SET visible = 1")
    state.store.conn.commit()
    state.close()
    return report.as_json()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the measured process ------------------------------------------------------------------------------


def _child(url: str, base: str, report: dict[str, Any], data_dir: str, out: Any) -> None:
    out.put(asyncio.run(_measure(url, base, report, Path(data_dir))))


async def _measure(url: str, base: str, report: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    from huike import registry
    from huike.config import Settings
    from huike.core.db import Base, Database, commit
    from huike.core.logging import configure_logging
    from huike.core.tenancy import TenantContext
    from huike.external_contact import service
    from huike.member import service as members
    from huike.security.keys import configure_keys, ensure_keys
    from huike.security.kms import ensure_master_key
    from huike.tag import service as tags
    from huike.tenant.models import Tenant
    from huike.wecom.models import ConnectionStatus, WeComConnection
    from huike.wecom.runtime import build_runtime, set_wecom_runtime
    from huike.wecom.service import client_for

    registry.load()
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        redis_url=None,
        wecom_base_url=f"{base}/cgi-bin",
        log_level="WARNING",
    )
    configure_logging(settings)
    ensure_master_key(settings)
    configure_keys(settings)
    set_wecom_runtime(build_runtime(settings))
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with db.sessionmaker() as session:
        tenant = Tenant(name="压测租户")
        session.add(tenant)
        await session.flush()
        await ensure_keys(session, tenant.id)
        session.add(
            WeComConnection(
                tenant_id=tenant.id,
                corp_id=report["corp_id"],
                agent_id=report["agent_id"],
                app_secret=report["app_secret"],
                contact_secret=report["contact_secret"],
                callback_token="bench-token",
                encoding_aes_key="a" * 43,
                callback_key=uuid.uuid4().hex,
                status=ConnectionStatus.connected,
            )
        )
        await commit(session)
        ctx = TenantContext.system(tenant.id)
        await members.sync_from_wecom(session, ctx, uuid.uuid4())
        await tags.sync_from_wecom(session, ctx)
        await commit(session)
    rss_ready = rss_mb()

    # fetch only: the sync's own reads, nothing stored
    async with db.read_sessionmaker() as session:
        await service.warm_keys(session, ctx.tenant_id)
        client, _ = await client_for(session, ctx)
    started = time.perf_counter()
    userids = sorted(set(await client.get_follow_user_list()))
    pages = rows = 0
    for first in range(0, len(userids), service.USER_CHUNK):
        chunk, cursor = userids[first : first + service.USER_CHUNK], ""
        while True:
            page = await service._batch(client, chunk, cursor, service.PAGE_LIMIT)
            pages, rows = pages + 1, rows + len(page.external_contact_list)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
    fetch_s = time.perf_counter() - started
    rss_fetch = rss_mb()

    cpu: list[float] = []

    async def timed_sync() -> tuple[float, dict[str, int]]:
        async with db.sessionmaker() as session:

            async def checkpoint() -> None:
                await commit(session)

            started, cpu_started = time.perf_counter(), time.process_time()
            stats = await service.sync_from_wecom(session, ctx, uuid.uuid4(), checkpoint=checkpoint)
            await commit(session)
            cpu.append(time.process_time() - cpu_started)
            return time.perf_counter() - started, stats

    if os.environ.get("BENCH_SQL_STATS"):
        _time_statements(db)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
        sync_s, stats = await timed_sync()
        profile.disable()
        profile.dump_stats(os.environ["BENCH_PROFILE"])
    else:
        sync_s, stats = await timed_sync()
    rss_sync = rss_mb()
    rerun_s, again = await timed_sync()
    await db.dispose()
    return {
        "pages": pages,
        "rows": rows,
        "fetch_s": fetch_s,
        "sync_s": sync_s,
        "sync_cpu_s": cpu[0],  # CPU of this process (all its threads): less at the mercy of the load
        "rerun_s": rerun_s,
        "contacts": stats.get("contacts", 0),
        "relations_created": stats.get("relations_created", 0),
        "rerun_writes": sum(
            again.get(k, 0)
            for k in ("contacts_created", "contacts_updated", "relations_created", "relations_updated")
        ),
        "rss_ready": rss_ready,
        "rss_fetch": rss_fetch,
        "rss_sync": rss_sync,
        "rss_end": rss_mb(),
    }


def _time_statements(db: Any) -> None:
    """Print, at exit, the time spent per kind of SQL statement (first 60 characters)."""
    import atexit
    from collections import Counter

    from sqlalchemy import event

    spent: Counter[str] = Counter()
    calls: Counter[str] = Counter()

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(db.engine.sync_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        key = " ".join(statement.split())[:60]
        spent[key] += time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        calls[key] += 1

    @atexit.register
    def _report() -> None:
        for key, seconds in spent.most_common(15):
            print(f"  {seconds:7.2f} s {calls[key]:>7,}  {key}", file=sys.stderr)


def run_size(customers: int, database_url: str | None, keep: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="huike-bench-sync-", dir=keep))
    state_path = str(tmp / "emulator.db")
    started = time.perf_counter()
    report = seed(state_path, customers, max(20, customers // 500))
    print(
        f"  seeded {customers:,} customers, {report['follows']:,} relations, {report['members']} members"
        f" in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    if database_url:
        from tests.support import reset_database

        asyncio.run(reset_database(database_url))
    url = database_url or f"sqlite+aiosqlite:///{tmp / 'huike.db'}"
    server, base = start_emulator(state_path)
    try:
        context = mp.get_context("spawn")
        out = context.Queue()
        process = context.Process(target=_child, args=(url, base, report, str(tmp), out))
        process.start()
        result: dict[str, Any] = out.get()
        process.join()
    finally:
        server.terminate()
        server.wait()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--tmp", default=tempfile.gettempdir(), help="where the state files go")
    args = parser.parse_args()

    db_name = "PostgreSQL" if args.database_url else "SQLite"
    results = {}
    for size in (args.customers // 10, args.customers):
        print(f"{size:,} customers on {db_name} …", flush=True)
        results[size] = run_size(size, args.database_url, Path(args.tmp))
    print(f"\nfull customer sync on {db_name} (emulator: 1 uvicorn worker; sync: 1 process)")
    print(
        f"{'customers':>10} {'relations':>10} {'pages':>6} {'fetch s':>8} {'sync s':>8} {'ratio':>6}"
        f" {'sync CPU s':>10} {'rerun s':>8} {'rerun/fetch':>11} {'RSS ready':>9} {'RSS fetch':>9}"
        f" {'RSS sync':>9}"
    )
    for size, r in results.items():
        print(
            f"{size:>10,} {r['rows']:>10,} {r['pages']:>6,} {r['fetch_s']:>8.1f} {r['sync_s']:>8.1f}"
            f" {r['sync_s'] / r['fetch_s']:>6.2f} {r.get('sync_cpu_s', 0):>10.1f} {r['rerun_s']:>8.1f}"
            f" {r['rerun_s'] / r['fetch_s']:>11.2f}"
            f" {r['rss_ready']:>9.0f} {r['rss_fetch']:>9.0f} {r['rss_sync']:>9.0f}"
        )
        if r["contacts"] != size or r["rerun_writes"]:
            print(f"  !! stored {r['contacts']:,} customers; the rerun wrote {r['rerun_writes']} rows")
    small, large = results[args.customers // 10], results[args.customers]
    print(
        f"ratio sync/fetch at {args.customers:,}: {large['sync_s'] / large['fetch_s']:.2f} (target ≤ 1.5);"
        f" peak RSS growth of the sync {small['rss_sync'] - small['rss_ready']:.0f} MB at"
        f" {args.customers // 10:,} vs {large['rss_sync'] - large['rss_ready']:.0f} MB at {args.customers:,}"
    )


if __name__ == "__main__":
    main()
