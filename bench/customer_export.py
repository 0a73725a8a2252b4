"""Benchmark: export of the customer list (CSV and xlsx) through the real export code.

    python -m bench.customer_export                    # SQLite file under /tmp/bench/export-sqlite
    python -m bench.customer_export --database-url postgresql+asyncpg://postgres@127.0.0.1/huike_bench_export
    python -m bench.customer_export --reuse            # the database generated before

Generates 100,000 customers (with ~3 relations, ~5 tag links each, like ``bench.customer_list``), then
exports 10,000 and 100,000 rows (the customers added before a cut-off date, oldest first, as the API
streams them) with ``export.csv_stream`` and ``export.xlsx_stream``, each in a fresh process so that
its peak RSS is its own. Prints rows, seconds (and the process's CPU seconds: on a shared machine
the wall clock says as much about the neighbours), rows/s, bytes and peak RSS growth; the target is
memory flat in the number of rows. ``--formats csv`` measures one format only. On PostgreSQL the
generated tables are vacuumed, as autovacuum would before long.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import resource
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _export(url: str, home: str, fmt: str, before: str, out: Any) -> None:
    out.put(asyncio.run(_run(url, Path(home), fmt, datetime.fromisoformat(before))))


async def _run(url: str, home: Path, fmt: str, before: datetime) -> dict[str, Any]:
    from huike import registry
    from huike.config import Settings
    from huike.core.db import Database
    from huike.core.logging import configure_logging
    from huike.core.tenancy import TenantContext
    from huike.external_contact import export, service
    from huike.external_contact.schemas import ContactFilters
    from huike.security.keys import configure_keys, warm_keys

    registry.load()
    settings = Settings(data_dir=home, database_url=url, redis_url=None, log_level="WARNING")
    configure_logging(settings)
    configure_keys(settings)
    info = json.loads((home / "generated.json").read_text())
    ctx = TenantContext(
        uuid.UUID(info["tenant_id"]),
        uuid.uuid4(),
        role="admin",
        permissions=frozenset({"customers.view", "customers.export"}),
        data_scope="company",
    )
    filters = ContactFilters(added_to=before)
    db = Database(url)
    async with db.read_sessionmaker() as session:
        await warm_keys(session, ctx.tenant_id)
        rows = await service.count_contacts(session, ctx, filters)
    rss_before = current = _current_rss_mb()
    size = 0
    async with db.read_sessionmaker() as session:
        await warm_keys(session, ctx.tenant_id)
        stream = export.csv_stream if fmt == "csv" else export.xlsx_stream
        started, cpu = time.perf_counter(), time.process_time()
        async for chunk in stream(session, ctx, filters):
            size += len(chunk)
            current = max(current, _current_rss_mb())
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await db.dispose()
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu": cpu,
        "bytes": size,
        "rss_before": rss_before,
        "rss_peak": current,
    }


def run(url: str, home: Path, fmt: str, before: datetime) -> dict[str, Any]:
    context = mp.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_export, args=(url, str(home), fmt, before.isoformat(), out))
    process.start()
    result: dict[str, Any] = out.get()
    process.join()
    return result


async def cut_off(url: str, rows: int) -> datetime:
    """The add time before which exactly ``rows`` customers were added (the export's filter)."""
    from sqlalchemy import select

    import huike.models  # noqa: F401
    from huike.core.db import Database
    from huike.external_contact.models import ExternalContact

    db = Database(url)
    async with db.read_sessionmaker() as session:
        statement = select(ExternalContact.added_at).order_by(ExternalContact.added_at).offset(rows).limit(1)
        found = (await session.execute(statement)).scalar_one()
    await db.dispose()
    return found


async def vacuum(url: str) -> None:
    """PostgreSQL: what autovacuum does to a table filled once, before it is read. The generator's
    COPY leaves the visibility map empty, so every index-only scan (the tag links of a page of
    customers) would fetch each row from the heap."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=parsed.database,
    )
    try:
        await conn.execute(
            "VACUUM (ANALYZE) external_contacts, external_contact_follows, external_contact_tags"
        )
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--dir", default="/tmp/bench")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--formats", default="csv,xlsx", help="comma-separated: csv, xlsx")
    args = parser.parse_args()

    from bench.customer_list import SPAN_S, T0, Sizes, generate, setup_tenant
    from huike import registry
    from huike.config import Settings
    from huike.core.logging import configure_logging
    from huike.security.keys import configure_keys
    from huike.security.kms import ensure_master_key

    kind = "pg" if args.database_url else "sqlite"
    home = Path(args.dir) / f"export-{kind}"
    home.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite+aiosqlite:///{home / 'export.db'}"
    marker = home / "generated.json"
    if not args.reuse:
        registry.load()
        settings = Settings(data_dir=home, database_url=url, redis_url=None, log_level="WARNING")
        configure_logging(settings)
        ensure_master_key(settings)
        configure_keys(settings)
        if args.database_url:
            from tests.support import reset_database

            asyncio.run(reset_database(url))
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{home / 'export.db'}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        info = asyncio.run(setup_tenant(url, home))
        asyncio.run(generate(url, info, Sizes(args.rows, args.rows * 3, args.rows * 5, 200)))
        if args.database_url:
            asyncio.run(vacuum(url))
        marker.write_text(json.dumps(info))
        print(f"generated {args.rows:,} customers in {time.perf_counter() - started:.0f} s", flush=True)

    from datetime import timedelta

    cut = asyncio.run(cut_off(url, args.rows // 10))
    results = []
    for fmt in args.formats.split(","):
        for before in (cut, T0 + timedelta(seconds=SPAN_S + 1)):
            result = run(url, home, fmt, before)
            results.append((fmt, result))
            print(
                f"  {fmt:<5} {result['rows']:>8,} rows  {result['seconds']:6.1f} s (CPU {result['cpu']:5.1f} s)"
                f"  {result['rows'] / result['seconds']:8,.0f} rows/s  {result['bytes'] / 2**20:6.1f} MB"
                f"  RSS {result['rss_before']:4.0f} MB before, at most {result['rss_peak']:4.0f} MB during"
                f" (+{result['rss_peak'] - result['rss_before']:.0f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
