"""Seed a large generated company into the WeCom emulator and print time, peak memory and size.

    .venv/bin/python bench/emulator_seed.py                      # 1,000,000 customers into a temp file
    .venv/bin/python bench/emulator_seed.py --contacts 100000 --path /tmp/emulator.db
    .venv/bin/python bench/emulator_seed.py --demo               # the demo corp of `huike run`

Not a test: run it by hand when the seeding code changes. Peak RSS is the whole process's.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from wecom_emulator import EmulatorState
from wecom_emulator.demo import seed_demo_company
from wecom_emulator.seed import seed_company


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--tags", type=int, default=300)
    parser.add_argument(
        "--demo", action="store_true", help="seed the demo corp of `huike run` (the sizes are its own)"
    )
    parser.add_argument(
        "--path", default=None, help="SQLite file (default: a temporary one); ':memory:' works too"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.path or str(Path(tmp) / "emulator.db")
        state = EmulatorState(path=path)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        report = (
            seed_demo_company(state, "ww00000000be0c4a11")
            if args.demo
            else seed_company(
                state,
                "ww00000000be0c4a11",
                members=args.members,
                external_contacts=args.contacts,
                groups=args.groups,
                tags=args.tags,
            )
        )
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = Path(path).stat().st_size / 2**20 if path != ":memory:" else 0.0
        state.close()
        print(f"members            {report.members:>12,}")
        print(f"external contacts  {report.external_contacts:>12,}")
        print(f"relationships      {report.follows:>12,}")
        print(f"tags               {report.tags:>12,}")
        print(f"groups             {report.groups:>12,}")
        print(f"group members      {report.group_members:>12,}")
        print(f"seconds            {seconds:>12.1f}")
        print(f"contacts/second    {report.external_contacts / seconds:>12,.0f}")
        print(f"peak RSS (MB)      {peak:>12.0f}   (before seeding: {rss_before:.0f})")
        if size:
            print(f"database (MB)      {size:>12.0f}")


if __name__ == "__main__":
    main()
