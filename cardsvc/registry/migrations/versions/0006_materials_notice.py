"""the one-time written notice of missing materials, kept with its application (SMX Art.11)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "materials_notice",
        sa.Column("application_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["permit_application.id"],
                                name=op.f("fk_materials_notice_application_id_permit_application")),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_materials_notice")),
    )


def downgrade() -> None:
    op.drop_table("materials_notice")
