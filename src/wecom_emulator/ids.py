"""Identifiers shaped like WeCom's (spec §0.3), from a given random source so seeding is
deterministic and the live emulator is unpredictable."""

from __future__ import annotations

import base64
import random
import secrets

# Base64's alphabet without '+' and '/', which real ids do not show: map them onto letters.
_ALNUM = bytes.maketrans(b"+/", b"Az")


def _alnum(rng: random.Random | None, length: int) -> str:
    nbytes = (length * 3 + 3) // 4
    raw = rng.randbytes(nbytes) if rng is not None else secrets.token_bytes(nbytes)
    return base64.b64encode(raw).translate(_ALNUM).decode("ascii")[:length]


def _hex(rng: random.Random | None, length: int) -> str:
    if rng is not None:
        return rng.randbytes((length + 1) // 2).hex()[:length]
    return secrets.token_hex((length + 1) // 2)[:length]


def corp_id(rng: random.Random | None = None) -> str:
    return "ww" + _hex(rng, 16)


def secret(rng: random.Random | None = None) -> str:
    return _alnum(rng, 43)


def external_userid(rng: random.Random | None = None) -> str:
    """32 characters starting ``wm`` (e.g. ``wmAJ2GCAAAXtWyujaWJHDDGi0mACHAAA``)."""
    return "wm" + _alnum(rng, 30)


def tag_id(rng: random.Random | None = None) -> str:
    return "et" + _alnum(rng, 30)


def chat_id(rng: random.Random | None = None) -> str:
    return "wr" + _alnum(rng, 28)


def unionid(rng: random.Random | None = None) -> str:
    return "o" + _alnum(rng, 27)


def version(rng: random.Random | None = None) -> str:
    """32 hex: member_version, config_id."""
    return _hex(rng, 32)


def opaque(length: int, rng: random.Random | None = None) -> str:
    """Tokens, codes, hints: long opaque strings."""
    return _alnum(rng, length)


def encoding_aes_key(rng: random.Random | None = None) -> str:
    """43 characters from [A-Za-z0-9] (spec §13.1)."""
    return _alnum(rng, 43)
