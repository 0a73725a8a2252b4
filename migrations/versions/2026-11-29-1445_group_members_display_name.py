"""Group members: the name the group shows for an external contact (群昵称, else WeChat name), encrypted

Revision ID: acd69882db53
Revises: 8c3583605d42
Create Date: 2026-11-29 14:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import huike.security.fields

revision: str = "acd69882db53"
down_revision: str | None = "8c3583605d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "group_chat_members",
        sa.Column("display_name", huike.security.fields.EncryptedText(), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("group_chat_members") as batch:
        batch.drop_column("display_name")
