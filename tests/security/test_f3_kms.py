"""Master keys: the embedded key file and variable (several versions), the Aliyun KMS adapter over a
recording transport, and the one-hour cache of unwrapped data keys."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huike.config import Settings
from huike.security.errors import KmsError, MasterKeyError
from huike.security.keys import EncryptionKey, KeyRing, set_keyring, warm_keys
from huike.security.kms import (
    MASTER_KEY_ENV,
    AliyunKmsProvider,
    LocalKeyProvider,
    WrappedKey,
    add_master_key_version,
    ensure_master_key,
    parse_master_keys,
)
from huike.tenant.models import Tenant
from tests.security.models import SecretContact

K1, K2 = bytes([1]) * 32, bytes([2]) * 32
CONTEXT = {"purpose": "huike-dek", "scope": "platform", "family": "data", "version": "1"}


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture
def local_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    return Settings(env="test", data_dir=tmp_path, database_url="sqlite+aiosqlite://", redis_url=None)


def test_master_keys_parse_with_versions() -> None:
    assert parse_master_keys(b64(K1)) == {1: K1}
    assert parse_master_keys(f"v1:{b64(K1)},v2:{b64(K2)}") == {1: K1, 2: K2}
    assert parse_master_keys(f"# comment\nv2:{b64(K2)}\n\nv1:{b64(K1)}  # old\n") == {1: K1, 2: K2}
    for bad in ("v1:notbase64!", f"v1:{b64(b'short')}", f"x1:{b64(K1)}", f"v1:{b64(K1)},v1:{b64(K2)}"):
        with pytest.raises(MasterKeyError):
            parse_master_keys(bad)


def test_first_run_generates_a_private_key_file_with_a_loud_warning(local_settings: Settings) -> None:
    with structlog.testing.capture_logs() as logs:
        path = ensure_master_key(local_settings)
    assert path == local_settings.data_dir / "keys" / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(parse_master_keys(path.read_text())) == [1]
    [warning] = [entry for entry in logs if entry["event"] == "keys.master_key_generated"]
    assert warning["log_level"] == "warning"
    assert "BACK THIS FILE UP" in warning["action"]
    assert b64(parse_master_keys(path.read_text())[1]) not in str(logs)
    before = path.read_text()
    with structlog.testing.capture_logs() as logs:
        assert ensure_master_key(local_settings) == path
    assert path.read_text() == before
    assert not logs


def test_a_loose_key_file_is_made_private(local_settings: Settings) -> None:
    path = ensure_master_key(local_settings)
    path.chmod(0o644)
    ensure_master_key(local_settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_environment_variable_wins_and_creates_no_file(
    local_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, f"v1:{b64(K1)},v2:{b64(K2)}")
    path = ensure_master_key(local_settings)
    assert not path.exists()
    provider = LocalKeyProvider.from_settings(local_settings)
    assert provider.current_kek_id == "local:v2"
    assert provider.versions == [1, 2]
    monkeypatch.setenv(MASTER_KEY_ENV, "garbage!")
    with pytest.raises(MasterKeyError):
        ensure_master_key(local_settings)


def test_no_key_at_all_is_an_error(local_settings: Settings) -> None:
    with pytest.raises(MasterKeyError):
        LocalKeyProvider.from_settings(local_settings)


async def test_a_new_master_version_wraps_new_keys_and_old_ones_still_unwrap(
    local_settings: Settings,
) -> None:
    ensure_master_key(local_settings)
    old = LocalKeyProvider.from_settings(local_settings)
    wrapped_v1 = await old.wrap(K1, CONTEXT)
    assert add_master_key_version(local_settings) == 2
    assert stat.S_IMODE(os.stat(local_settings.data_dir / "keys" / "master.key").st_mode) == 0o600
    new = LocalKeyProvider.from_settings(local_settings)
    wrapped_v2 = await new.wrap(K2, CONTEXT)
    assert (wrapped_v1.kek_id, wrapped_v2.kek_id) == ("local:v1", "local:v2")
    assert await new.unwrap(wrapped_v1, CONTEXT) == K1
    assert await new.unwrap(wrapped_v2, CONTEXT) == K2
    with pytest.raises(MasterKeyError):
        await old.unwrap(wrapped_v2, CONTEXT)


async def test_a_wrapped_key_is_bound_to_its_context() -> None:
    provider = LocalKeyProvider({1: K1})
    wrapped = await provider.wrap(K2, CONTEXT)
    assert K2 not in wrapped.blob
    with pytest.raises(MasterKeyError):
        await provider.unwrap(wrapped, {**CONTEXT, "scope": "someone-else"})


class FakeKms:
    """Records every call; ``Encrypt`` wraps with a secret of its own, ``Decrypt`` undoes it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.fail = False

    async def __call__(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        self.calls.append((action, dict(params)))
        if self.fail:
            raise ConnectionError("kms down")
        if action == "Encrypt":
            envelope = {"p": params["Plaintext"], "c": params["EncryptionContext"]}
            return {
                "CiphertextBlob": b64(json.dumps(envelope).encode()),
                "KeyId": "key-123",
                "RequestId": "r",
            }
        if action == "Decrypt":
            envelope = json.loads(base64.b64decode(params["CiphertextBlob"]))
            if envelope["c"] != params["EncryptionContext"]:
                raise KmsError(reason="InvalidParameter")
            return {"Plaintext": envelope["p"], "KeyId": "key-123"}
        raise AssertionError(action)


async def test_aliyun_adapter_calls_encrypt_and_decrypt() -> None:
    kms = FakeKms()
    provider = AliyunKmsProvider(key_id="alias/huike", region_id="cn-shanghai", transport=kms)
    wrapped = await provider.wrap(K1, CONTEXT)
    assert wrapped.kek_id == "aliyun:cn-shanghai:key-123"
    assert await provider.unwrap(wrapped, CONTEXT) == K1
    (encrypt, params), (decrypt, dparams) = kms.calls
    assert (encrypt, decrypt) == ("Encrypt", "Decrypt")
    assert set(params) == {"KeyId", "Plaintext", "EncryptionContext"}
    assert params["KeyId"] == "alias/huike"
    assert json.loads(params["EncryptionContext"]) == CONTEXT
    assert set(dparams) == {"CiphertextBlob", "EncryptionContext"}
    with pytest.raises(KmsError):
        await provider.unwrap(wrapped, {**CONTEXT, "version": "2"})


@pytest.mark.parametrize("region", ["cn-hongkong", "ap-southeast-1", "us-west-1"])
def test_aliyun_adapter_refuses_regions_outside_the_mainland(region: str) -> None:
    with pytest.raises(KmsError):
        AliyunKmsProvider(key_id="k", region_id=region, transport=FakeKms())


async def test_aliyun_adapter_turns_failures_into_typed_errors() -> None:
    kms = FakeKms()
    provider = AliyunKmsProvider(key_id="k", region_id="cn-beijing", transport=kms)
    kms.fail = True
    with pytest.raises(KmsError):
        await provider.wrap(K1, CONTEXT)
    kms.fail = False

    async def odd(action: str, params: dict[str, str]) -> dict[str, Any]:
        return {"Plaintext": b64(b"short")}

    with pytest.raises(KmsError):
        await AliyunKmsProvider(key_id="k", region_id="cn-beijing", transport=odd).unwrap(
            WrappedKey("aliyun:cn-beijing:k", b"x"), CONTEXT
        )


async def test_fields_encrypt_under_kms_keys_and_unwraps_are_cached(
    secret_session: AsyncSession, tenant: Tenant
) -> None:
    kms = FakeKms()
    now = [0.0]
    ring = KeyRing(
        AliyunKmsProvider(key_id="k", region_id="cn-shanghai", transport=kms), clock=lambda: now[0]
    )
    set_keyring(ring)
    session = secret_session
    session.add(SecretContact(tenant_id=tenant.id, phone="13800138000"))
    await session.flush()
    assert [action for action, _ in kms.calls] == ["Encrypt", "Encrypt"]  # data and index keys
    kek_ids = (
        (await session.execute(select(EncryptionKey.kek_id).where(EncryptionKey.tenant_id == tenant.id)))
        .scalars()
        .all()
    )
    assert set(kek_ids) == {"aliyun:cn-shanghai:key-123"}

    session.expunge_all()
    await warm_keys(session, tenant.id)
    assert [row.phone for row in (await session.execute(select(SecretContact))).scalars()] == ["13800138000"]
    assert [action for action, _ in kms.calls] == ["Encrypt", "Encrypt"]  # served from the cache

    now[0] += 3599
    await warm_keys(session, tenant.id)
    assert len(kms.calls) == 2
    now[0] += 2  # past one hour: unwrapped keys are dropped and unwrapped again
    await warm_keys(session, tenant.id)
    assert [action for action, _ in kms.calls] == ["Encrypt", "Encrypt", "Decrypt", "Decrypt"]
    assert all("13800138000" not in json.dumps(params) for _, params in kms.calls)


def test_the_cache_may_not_outlive_one_hour() -> None:
    with pytest.raises(ValueError, match="one hour"):
        KeyRing(LocalKeyProvider({1: K1}), ttl_s=3601)
