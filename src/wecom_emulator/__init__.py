"""A stand-alone emulator of WeCom's server API and callbacks (built in the WeCom boundary issue).

It imports nothing from ``huike`` so that it could be published on its own."""
