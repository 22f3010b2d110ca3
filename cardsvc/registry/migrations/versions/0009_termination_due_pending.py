"""a termination report whose due date the working-day calendar cannot count yet (ZZ Art.25 ¶1-2)

The report is kept with no due date until the State Council notice of its year is in the calendar,
instead of being refused (bad input loses nothing; a missing calendar year is not bad input).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("termination_report") as batch:
        batch.alter_column("due_on", existing_type=sa.Date(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("termination_report") as batch:
        batch.alter_column("due_on", existing_type=sa.Date(), nullable=False)
