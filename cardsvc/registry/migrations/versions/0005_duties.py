"""standing duties (issue 16 item 2): a lease row per duty so one process runs it at a time, and the
marks duties put on permits (SMX Art.18 re-registration), loss reports (ZZ Art.16-17)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duty_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_duty_lease")),
    )
    op.create_table(
        "duty_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("article", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["permit_id"], ["permit.id"], name=op.f("fk_duty_mark_permit_id_permit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_mark")),
        sa.UniqueConstraint("permit_id", "kind", name=op.f("uq_duty_mark_permit_id")),
    )
    with op.batch_alter_table("duty_mark") as batch:
        batch.create_index(batch.f("ix_duty_mark_permit_id"), ["permit_id"], unique=False)
    op.create_table(
        "loss_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("bank_certificate", sa.String(length=32), nullable=True),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["card.id"], name=op.f("fk_loss_report_card_id_card")),
        sa.ForeignKeyConstraint(["permit_id"], ["permit.id"], name=op.f("fk_loss_report_permit_id_permit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loss_report")),
        sa.UniqueConstraint("card_id", name=op.f("uq_loss_report_card_id")),
    )
    with op.batch_alter_table("loss_report") as batch:
        batch.create_index(batch.f("ix_loss_report_permit_id"), ["permit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loss_report") as batch:
        batch.drop_index(batch.f("ix_loss_report_permit_id"))
    op.drop_table("loss_report")
    with op.batch_alter_table("duty_mark") as batch:
        batch.drop_index(batch.f("ix_duty_mark_permit_id"))
    op.drop_table("duty_mark")
    op.drop_table("duty_lease")
