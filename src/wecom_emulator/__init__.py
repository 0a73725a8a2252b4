"""A stand-alone emulator of WeCom's server API and callbacks (built in the WeCom boundary issue).

It imports nothing from ``huike`` so that it could be published on its own.

    state = EmulatorState()                       # or EmulatorState(path="emulator.db")
    seed_company(state, "ww0123456789abcdef", members=50, external_contacts=500)
    app = create_app(state)                       # ASGI: /cgi-bin/..., /_emulator/...
"""

from wecom_emulator.clock import Clock
from wecom_emulator.state import EmulatorState, Settings

__all__ = ["Clock", "EmulatorState", "Settings"]
