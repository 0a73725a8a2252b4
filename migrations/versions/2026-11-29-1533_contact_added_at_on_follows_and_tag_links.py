"""The customer's added_at repeated on follow relations and tag links, indexed in the list's order

A member's or a tag's customers then stream out of one index already sorted the way the customer list
is (newest first), so a page with two common filters reads about a page of index entries per filter
(docs/benchmarks.md). Existing rows are filled from external_contacts.added_at.

Revision ID: f5952e186c4f
Revises: acd69882db53
Create Date: 2026-11-29 15:33:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import huike.core.db

revision: str = "f5952e186c4f"
down_revision: str | None = "acd69882db53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE {table} SET contact_added_at = (
    SELECT c.added_at FROM external_contacts c WHERE c.id = {table}.contact_id AND c.tenant_id = {table}.tenant_id
)
"""


def upgrade() -> None:
    for table in ("external_contact_follows", "external_contact_tags"):
        op.add_column(
            table, sa.Column("contact_added_at", huike.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        op.execute(BACKFILL.format(table=table))
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "contact_added_at", existing_type=huike.core.db.UTCDateTime(timezone=True), nullable=False
            )
    op.drop_index("ix_external_contact_follows_member", table_name="external_contact_follows")
    op.create_index(
        "ix_external_contact_follows_member_added",
        "external_contact_follows",
        ["tenant_id", "member_id", "contact_added_at", "contact_id"],
        unique=False,
    )
    op.drop_index("ix_external_contact_tags_tag", table_name="external_contact_tags")
    op.create_index(
        "ix_external_contact_tags_tag_added",
        "external_contact_tags",
        ["tenant_id", "tag_id", "contact_added_at", "contact_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_external_contact_tags_tag_added", table_name="external_contact_tags")
    op.create_index(
        "ix_external_contact_tags_tag",
        "external_contact_tags",
        ["tenant_id", "tag_id", "contact_id"],
        unique=False,
    )
    op.drop_index("ix_external_contact_follows_member_added", table_name="external_contact_follows")
    op.create_index(
        "ix_external_contact_follows_member",
        "external_contact_follows",
        ["tenant_id", "member_id", "status", "contact_id"],
        unique=False,
    )
    for table in ("external_contact_tags", "external_contact_follows"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("contact_added_at")
