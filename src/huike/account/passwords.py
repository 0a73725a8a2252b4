"""Password hashing (argon2id, argon2-cffi) and strength rules (R-REG-1).

Parameters: RFC 9106's second recommended (low-memory) option, t=3, m=64 MiB, p=4. A hash made with
other parameters is upgraded at the next successful login (:func:`needs_rehash`)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from huike.account.errors import WeakPassword

MIN_LENGTH = 8
MAX_LENGTH = 128
TIME_COST, MEMORY_COST_KIB, PARALLELISM = 3, 64 * 1024, 4  # RFC 9106 low-memory option

# A small denylist: the passwords most often seen in Chinese and international leaks that would pass
# the class rules, compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    {
        "password1!",
        "password123!",
        "p@ssw0rd",
        "p@ssword1",
        "passw0rd!",
        "qwer1234!",
        "qwerty123!",
        "qwe123!@#",
        "1qaz@wsx",
        "1qaz2wsx!",
        "!qaz2wsx",
        "abc123!@#",
        "abcd1234!",
        "admin123!",
        "admin@123",
        "a123456!",
        "aa123456!",
        "woaini1314!",
        "iloveyou1!",
        "huike123!",
        "huike@123",
        "welcome1!",
        "zxcv1234!",
        "asdf1234!",
        "test@123",
        "root@123",
        "changeme1!",
    }
)

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM)


def configure_hasher(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Replace the hasher (tests use cheaper parameters; production keeps RFC 9106's)."""
    global _hasher, _dummy
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _dummy = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


_dummy: str | None = None


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``. Without a stored hash it still spends the time of
    one verification, so an unknown phone answers as slowly as a wrong password."""
    global _dummy
    if stored is None:
        if _dummy is None:
            _dummy = _hasher.hash("huike-dummy-password")
        stored, password = _dummy, password + "\x00"
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _classes(password: str) -> int:
    return sum(
        (
            bool(re.search(r"[a-z]", password)),
            bool(re.search(r"[A-Z]", password)),
            bool(re.search(r"[0-9]", password)),
            bool(re.search(r"[^A-Za-z0-9]", password)),
        )
    )


def check_strength(password: str, *, phone_e164: str | None = None) -> None:
    """Raise :class:`WeakPassword` with a ``reason`` unless the password passes every rule."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(reason="too_short", min_length=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        raise WeakPassword(reason="too_long", max_length=MAX_LENGTH)
    if _classes(password) < 3:
        raise WeakPassword(reason="too_few_classes")
    if phone_e164:
        national = phone_e164.removeprefix("+86")
        digits = re.sub(r"\D", "", password)
        if national in digits or national[-8:] in password:
            raise WeakPassword(reason="contains_phone")
    if password.lower() in COMMON_PASSWORDS:
        raise WeakPassword(reason="too_common")
