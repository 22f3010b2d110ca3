"""the temporary registration as a record: who declared it, its certificate number, validity and end
(SMX Art.7-8, 17-18; ZZ Art.10-11); change registrations written to the card (ZZ Art.14)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("temporary_registration") as batch:
        # rows made before this revision were reported by the holder (the only declarer the code knew)
        batch.add_column(sa.Column("declared_by", sa.String(length=24), nullable=False, server_default="self"))
        batch.add_column(sa.Column("certificate_number", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("valid_until", sa.Date(), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.String(length=32), nullable=True))
        batch.create_unique_constraint(batch.f("uq_temporary_registration_certificate_number"),
                                       ["certificate_number"])
    op.create_table(
        "change_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("card_sync", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["card.id"], name=op.f("fk_change_record_card_id_card")),
        sa.ForeignKeyConstraint(["permit_id"], ["permit.id"], name=op.f("fk_change_record_permit_id_permit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_record")),
        sa.UniqueConstraint("card_id", "seq", name=op.f("uq_change_record_card_id")),
    )
    with op.batch_alter_table("change_record") as batch:
        batch.create_index(batch.f("ix_change_record_permit_id"), ["permit_id"], unique=False)
        batch.create_index(batch.f("ix_change_record_card_id"), ["card_id"], unique=False)
        batch.create_index(batch.f("ix_change_record_card_sync"), ["card_sync"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("change_record") as batch:
        batch.drop_index(batch.f("ix_change_record_card_sync"))
        batch.drop_index(batch.f("ix_change_record_card_id"))
        batch.drop_index(batch.f("ix_change_record_permit_id"))
    op.drop_table("change_record")
    with op.batch_alter_table("temporary_registration") as batch:
        batch.drop_constraint(batch.f("uq_temporary_registration_certificate_number"), type_="unique")
        batch.drop_column("end_reason")
        batch.drop_column("valid_until")
        batch.drop_column("certificate_number")
        batch.drop_column("declared_by")
