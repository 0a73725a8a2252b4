"""Fixtures of the field-encryption tests: a fresh key ring per test, and a test-only model with an
encrypted column and a blind index in a MetaData of its own (created inside the test's transaction)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from huike.security.keys import KeyRing, set_keyring
from huike.security.kms import LocalKeyProvider
from tests.security.models import SecretBase


@pytest.fixture
def master_keys() -> dict[int, bytes]:
    return {1: os.urandom(32)}


@pytest.fixture(autouse=True)
def keyring(master_keys: dict[int, bytes]) -> Iterator[KeyRing]:
    ring = KeyRing(LocalKeyProvider(master_keys))
    set_keyring(ring)
    yield ring
    set_keyring(None)


@pytest_asyncio.fixture
async def secret_session(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The rolled-back test session with the test-only tables created in its transaction."""
    await session.run_sync(lambda sync: SecretBase.metadata.create_all(sync.connection()))
    yield session
