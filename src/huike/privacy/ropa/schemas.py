"""The record of processing activities as the API serves it (labels in the request's language)."""

from __future__ import annotations

from pydantic import BaseModel


class RopaPurposeRead(BaseModel):
    code: str
    label: str
    legal_basis: str
    legal_basis_label: str


class RetentionRead(BaseModel):
    trigger: str
    days: int | None
    action: str
    text: str


class JsonPathRead(BaseModel):
    path: str
    category: str
    category_label: str
    subjects: list[str]
    notes: str


class ColumnRead(BaseModel):
    column: str
    category: str
    category_label: str
    structural: bool
    personal: bool
    sensitive: bool
    encrypted: bool
    subject: str
    subject_label: str
    purposes: list[RopaPurposeRead]
    erasure: str
    erasure_label: str
    notes: str
    json_paths: list[JsonPathRead]


class TableRead(BaseModel):
    table: str
    personal: bool
    subject: str
    subject_label: str
    owner_role: str
    owner_label: str
    purposes: list[RopaPurposeRead]
    retention: RetentionRead
    erasure: str
    erasure_label: str
    region: str
    region_label: str
    subject_paths: list[str]
    """How each subject's rows are found: the column or JSON path holding the identity, or the foreign
    keys that lead to one (the reachability check's path)."""
    notes: str
    columns: list[ColumnRead]


class InventoryRead(BaseModel):
    locale: str
    encrypted_categories: list[str]
    tables: list[TableRead]
