"""Run the emulator on its own port: ``python -m wecom_emulator`` or, from Huike, ``serve(...)``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from wecom_emulator.app import create_app
from wecom_emulator.clock import Clock
from wecom_emulator.demo import seed_demo_company
from wecom_emulator.seed import SeedReport
from wecom_emulator.state import EmulatorState

DEMO_CORP = "ww7a3c9e0d1f2b4c5d"


def build_state(
    state_path: str = ":memory:", *, demo: bool = True
) -> tuple[EmulatorState, SeedReport | None]:
    """A state on ``state_path`` whose clock runs with real time; with ``demo`` and an empty
    database, the demo company is seeded (corp id ``DEMO_CORP``, wecom_emulator.demo)."""
    state = EmulatorState(path=state_path, clock=Clock())
    report = None
    if demo and not state.store.one("SELECT 1 FROM corp"):
        report = seed_demo_company(state, DEMO_CORP)
    return state, report


def serve(
    host: str = "127.0.0.1", port: int = 8090, state_path: str = ":memory:", *, demo: bool = True
) -> None:
    """Serve the emulator until interrupted (blocking). Callbacks are delivered in the background."""
    import uvicorn

    state, report = build_state(state_path, demo=demo)
    if report is not None:
        sys.stderr.write(
            f"WeCom emulator: demo corp {report.corp_id} agent {report.agent_id}\n"
            f"  app secret      {report.app_secret}\n"
            f"  客户联系 secret  {report.contact_secret}\n"
            f"  通讯录同步 secret {report.sync_secret}\n"
        )
    sys.stderr.write(f"WeCom emulator at http://{host}:{port}/cgi-bin/ (control API: /_emulator/docs)\n")
    uvicorn.run(create_app(state, auto_deliver=True), host=host, port=port, log_level="warning")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="wecom_emulator", description="A local emulator of WeCom's server API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--state", default=":memory:", help="SQLite file for the emulator's state")
    parser.add_argument(
        "--no-demo", action="store_true", help="do not seed a demo company into an empty state"
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.state, demo=not args.no_demo)
