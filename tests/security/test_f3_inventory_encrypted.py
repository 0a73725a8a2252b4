"""Every encrypted column is declared in the data inventory (F1) as encrypted, and as personal unless it
is a secret column; every blind index as personal; none escapes the markers rotation relies on."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import MetaData

import huike.models
from huike.privacy.inventory import INFO_KEY, FieldInventory
from huike.security.blind_index import BLIND_INDEX_INFO, BlindIndexSpec
from huike.security.fields import ENCRYPTED_INFO, EncryptedSpec, EncryptedText, encrypted_columns
from tests.security.models import SecretBase

ALL = [huike.models.Base.metadata, SecretBase.metadata]


def _columns(metadata: MetaData) -> list[Any]:
    return [column for table in metadata.sorted_tables for column in table.columns]


@pytest.mark.parametrize("metadata", ALL, ids=["models", "test-models"])
def test_every_encrypted_column_is_declared_encrypted(metadata: MetaData) -> None:
    for column in _columns(metadata):
        marked = isinstance(column.info.get(ENCRYPTED_INFO), EncryptedSpec)
        assert marked == isinstance(column.type, EncryptedText), f"{column.table.name}.{column.name}"
        if not marked:
            continue
        entry = column.info.get(INFO_KEY)
        assert isinstance(entry, FieldInventory), f"{column.table.name}.{column.name} has no inventory entry"
        assert entry.encrypted, f"{column.table.name}.{column.name}"
        assert entry.personal or entry.category.startswith("system."), f"{column.table.name}.{column.name}"


@pytest.mark.parametrize("metadata", ALL, ids=["models", "test-models"])
def test_every_blind_index_is_declared_personal(metadata: MetaData) -> None:
    for column in _columns(metadata):
        if isinstance(column.info.get(BLIND_INDEX_INFO), BlindIndexSpec):
            entry = column.info[INFO_KEY]
            assert entry.personal, f"{column.table.name}.{column.name}"
            assert entry.category.endswith(".blind_index")


def test_personal_encrypted_columns_of_the_test_models() -> None:
    found = {
        (table.name, column.name): column.info[INFO_KEY]
        for table, column in encrypted_columns(SecretBase.metadata)
    }
    assert set(found) == {
        ("test_secret_contacts", "phone"),
        ("test_secret_contacts", "note"),
        ("test_secret_accounts", "phone"),
        ("test_secret_accounts", "api_secret"),
    }
    assert found[("test_secret_contacts", "phone")].personal
    assert found[("test_secret_contacts", "phone")].category == "user.contact.phone_number"
    assert not found[("test_secret_accounts", "api_secret")].personal
