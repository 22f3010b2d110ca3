"""landlords' and employers' reports that a holder's residence ended (ZZ Art.25 ¶1-2)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "termination_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("reporter", sa.String(length=16), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["permit_id"], ["permit.id"], name=op.f("fk_termination_report_permit_id_permit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_termination_report")),
    )
    with op.batch_alter_table("termination_report") as batch:
        batch.create_index(batch.f("ix_termination_report_permit_id"), ["permit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("termination_report") as batch:
        batch.drop_index(batch.f("ix_termination_report_permit_id"))
    op.drop_table("termination_report")
