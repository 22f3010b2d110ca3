"""the temporary registration as a record: who declared it, its certificate number, validity and end
(SMX Art.7-8, 17-18; ZZ Art.10-11)

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


def downgrade() -> None:
    with op.batch_alter_table("temporary_registration") as batch:
        batch.drop_constraint(batch.f("uq_temporary_registration_certificate_number"), type_="unique")
        batch.drop_column("end_reason")
        batch.drop_column("valid_until")
        batch.drop_column("certificate_number")
        batch.drop_column("declared_by")
