"""Benchmark: WeCom callback ingestion, end to end over HTTP on loopback.

    python -m bench.callback_ingest                       # SQLite (embedded file)
    python -m bench.callback_ingest --database-url postgresql+asyncpg://postgres@127.0.0.1/huike_bench

It starts two servers, one uvicorn worker each, and drives both with the same load generator (a separate
process, aiohttp, keep-alive):

* **ceiling** — verify signature + AES decrypt + hardened XML parse, and answer ``success``: no database;
* **pipeline** — Huike itself: the callback route, group-committed inbox writes and one processing job
  per new event (dispatched to Redis Streams, as in scale mode; no worker runs during the measurement).

and prints, measured in this one run: peak events/s of each and their ratio (target ≥ 0.7), p50/p99
acknowledgement latency of the pipeline at half its peak rate (target p99 < 50 ms), and a loss check
over N distinct events (default 100,000): every acknowledged event must be in the inbox with its job.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import secrets
import socket
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import PlainTextResponse

ROOT = Path(__file__).resolve().parents[1]
CORP = "ww5b3a9c0e7d1f2a4b"
TOKEN = "".join(secrets.choice(string.ascii_letters) for _ in range(32))
AES_KEY = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43))
CALLBACK_KEY = secrets.token_hex(16)


# --- servers -----------------------------------------------------------------------------------


def ceiling_app() -> Any:
    """The work every callback needs before any storage: signature, decryption, parsing."""
    from huike.wecom.crypto import CallbackCrypto
    from huike.wecom.xmlparse import parse_flat

    crypto = CallbackCrypto(TOKEN_FROM_ENV(), AES_FROM_ENV(), CORP)
    app = FastAPI()

    @app.post("/wecom/callback/{key}")
    async def receive(
        request: Request,
        key: str,
        msg_signature: str = Query(),
        timestamp: str = Query(),
        nonce: str = Query(),
    ) -> PlainTextResponse:
        envelope = parse_flat(await request.body())
        parse_flat(crypto.verify_and_decrypt(msg_signature, timestamp, nonce, str(envelope["Encrypt"])))
        return PlainTextResponse("success")

    return app


def TOKEN_FROM_ENV() -> str:
    return os.environ["BENCH_TOKEN"]


def AES_FROM_ENV() -> str:
    return os.environ["BENCH_AES_KEY"]


def pipeline_app() -> Any:
    from huike.app import create_app
    from huike.config import Settings

    return create_app(Settings(), run_scheduler=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(factory: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    import urllib.request

    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(
                base + "/healthz" if "pipeline" in factory else base + "/docs", timeout=1
            ):
                return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{factory} did not start")


# --- setup ---------------------------------------------------------------------------------------


async def prepare_database(url: str, data_dir: Path) -> None:
    """A migrated database with one tenant connected under our callback key."""
    from huike import registry
    from huike.config import Settings
    from huike.core.db import Database, commit
    from huike.core.migrate import upgrade
    from huike.security.keys import configure_keys, ensure_keys
    from huike.security.kms import ensure_master_key
    from huike.tenant.models import Tenant
    from huike.wecom.models import ConnectionStatus, WeComConnection

    registry.load()
    settings = Settings(data_dir=data_dir, database_url=url)
    ensure_master_key(settings)
    await asyncio.to_thread(upgrade, url)
    configure_keys(settings)
    db = Database(url)
    async with db.sessionmaker() as session:
        tenant = Tenant(name="压测租户")
        session.add(tenant)
        await session.flush()
        await ensure_keys(session, tenant.id)
        session.add(
            WeComConnection(
                tenant_id=tenant.id,
                corp_id=CORP,
                agent_id=1000002,
                app_secret="bench-app-secret",
                contact_secret="bench-contact-secret",
                callback_token=os.environ["BENCH_TOKEN"],
                encoding_aes_key=os.environ["BENCH_AES_KEY"],
                callback_key=CALLBACK_KEY,
                status=ConnectionStatus.connected,
            )
        )
        await commit(session)
    await db.dispose()


def make_requests(count: int, offset: int) -> list[tuple[str, bytes]]:
    """Distinct, signed, encrypted add_external_contact callbacks as WeCom would send them."""
    from huike.wecom.crypto import CallbackCrypto, signature

    crypto = CallbackCrypto(os.environ["BENCH_TOKEN"], os.environ["BENCH_AES_KEY"], CORP)
    requests = []
    for n in range(offset, offset + count):
        inner = (
            f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{1_700_000_000 + n}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[change_external_contact]]></Event>"
            "<ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>"
            f"<ExternalUserID><![CDATA[wm{n:030d}]]></ExternalUserID><State><![CDATA[bench]]></State></xml>"
        ).encode()
        encrypted = crypto.encrypt(inner)
        timestamp, nonce = str(1_700_000_000 + n), str(n)
        sig = signature(crypto.token, timestamp, nonce, encrypted)
        body = (
            f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            "<AgentID><![CDATA[1000002]]></AgentID></xml>"
        ).encode()
        requests.append(
            (f"/wecom/callback/{CALLBACK_KEY}?msg_signature={sig}&timestamp={timestamp}&nonce={nonce}", body)
        )
    return requests


# --- load generator (its own process) ---------------------------------------------------------------


def _load(
    base: str, requests: list[tuple[str, bytes]], concurrency: int, rate: float | None, out: Any
) -> None:
    import uvloop

    out.put(uvloop.run(_drive(base, requests, concurrency, rate)))


async def _drive(
    base: str, requests: list[tuple[str, bytes]], concurrency: int, rate: float | None
) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    acked: list[int] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, connector=connector) as session:

        async def send(index: int) -> None:
            nonlocal errors
            path, body = requests[index]
            started = time.perf_counter()
            try:
                async with session.post(path, data=body) as response:
                    text = await response.text()
                    if response.status == 200 and text == "success":
                        acked.append(index)
                        latencies.append(time.perf_counter() - started)
                    else:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1

        started = time.perf_counter()
        if rate is None:  # closed loop: as fast as the server answers
            queue = iter(range(len(requests)))

            async def worker() -> None:
                for index in queue:
                    await send(index)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:  # open loop at a fixed rate: latency is measured, not throughput
            tasks = []
            for index in range(len(requests)):
                due = started + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(send(index)))
            await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "sent": len(requests),
        "acked": acked,
        "errors": errors,
        "seconds": elapsed,
        "rate": len(acked) / elapsed if elapsed else 0.0,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
    }


def drive(
    base: str, requests: list[tuple[str, bytes]], concurrency: int = 32, rate: float | None = None
) -> dict[str, Any]:
    context = mp.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_load, args=(base, requests, concurrency, rate, out))
    process.start()
    result = out.get()
    process.join()
    return result


# --- the run -------------------------------------------------------------------------------------------


async def count_durable(url: str, acked_ids: set[str]) -> tuple[int, int, int, int]:
    from sqlalchemy import select

    from huike.core.db import Database
    from huike.core.tasks import Outbox
    from huike.wecom.models import InboxEvent

    db = Database(url)
    async with db.read_sessionmaker() as session:
        rows = (await session.execute(select(InboxEvent.id, InboxEvent.payload))).all()
        stored = {payload["ExternalUserID"] for _, payload in rows}
        payloads = (
            (await session.execute(select(Outbox.payload).where(Outbox.task == "wecom.process_events")))
            .scalars()
            .all()
        )
    await db.dispose()
    named = {event_id for payload in payloads for event_id in payload["event_ids"]}
    unjobbed = sum(1 for event_id, _ in rows if str(event_id) not in named)
    return len(acked_ids - stored), len(rows), unjobbed, len(payloads)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL (default: a temporary SQLite file)"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--events", type=int, default=100_000, help="distinct events for the loss check")
    parser.add_argument("--peak-events", type=int, default=30_000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    os.environ.setdefault("BENCH_TOKEN", TOKEN)
    os.environ.setdefault("BENCH_AES_KEY", AES_KEY)
    data_dir = Path(tempfile.mkdtemp(prefix="huike-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    if args.database_url:
        import asyncpg  # noqa: F401
        from tests.support import reset_database

        asyncio.run(reset_database(url))
    asyncio.run(prepare_database(url, data_dir))
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HUIKE_DATABASE_URL": url,
        "HUIKE_DATA_DIR": str(data_dir),
        "HUIKE_REDIS_URL": args.redis_url,
        "HUIKE_LOG_LEVEL": "ERROR",
        "HUIKE_ENV": "production",
    }
    total = args.peak_events * 2 + args.events
    print(f"preparing {total:,} signed, encrypted callbacks …", flush=True)
    requests = make_requests(total, 0)
    peak_set = requests[: args.peak_events]
    half_set = requests[args.peak_events : 2 * args.peak_events]
    loss_set = requests[2 * args.peak_events :]

    ceiling_server, ceiling_base = start_server("bench.callback_ingest:ceiling_app", env)
    try:
        drive(ceiling_base, peak_set[:2000], args.concurrency)  # warm-up
        ceiling = drive(ceiling_base, peak_set, args.concurrency)
    finally:
        ceiling_server.terminate()
        ceiling_server.wait()

    server, base = start_server("bench.callback_ingest:pipeline_app", env)
    try:
        drive(base, make_requests(2000, 10_000_000), args.concurrency)  # warm-up, distinct events
        pipeline = drive(base, peak_set, args.concurrency)
        half_rate = pipeline["rate"] / 2
        half = drive(base, half_set[: int(half_rate * 10)], args.concurrency * 4, rate=half_rate)
        loss = drive(base, loss_set, args.concurrency)
    finally:
        server.terminate()
        server.wait()
    acked = {f"wm{2 * args.peak_events + i:030d}" for i in loss["acked"]}
    missing, events, unjobbed, batches = asyncio.run(count_durable(url, acked))

    ratio = pipeline["rate"] / ceiling["rate"] if ceiling["rate"] else 0.0
    db_name = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\ncallback ingestion on {db_name} (1 uvicorn worker each; load generator in its own process)")
    print(
        f"  ceiling (verify+decrypt+parse, no DB): {ceiling['rate']:8.0f} events/s  p50 {ceiling['p50_ms']:.1f} ms  p99 {ceiling['p99_ms']:.1f} ms"
    )
    print(
        f"  pipeline (inbox, group commit, jobs):  {pipeline['rate']:8.0f} events/s  p50 {pipeline['p50_ms']:.1f} ms  p99 {pipeline['p99_ms']:.1f} ms"
    )
    print(f"  ratio pipeline/ceiling: {ratio:.2f}   (target ≥ 0.70)")
    print(
        f"  at half the peak rate ({half_rate:.0f}/s): p50 {half['p50_ms']:.1f} ms  p99 {half['p99_ms']:.1f} ms   (target p99 < 50 ms)"
    )
    print(
        f"  loss check: {loss['sent']:,} sent, {len(loss['acked']):,} acknowledged, {loss['errors']} errors, "
        f"{missing} acknowledged but not stored   (target 0)"
    )
    print(
        f"  inbox rows {events:,}; {batches:,} processing jobs (one per committed batch) name all but {unjobbed} of them (target 0)"
    )


if __name__ == "__main__":
    main()
