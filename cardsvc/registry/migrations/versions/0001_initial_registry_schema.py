"""initial registry schema

Hand-checked against cardsvc.registry.models; a test compares the migrated schema with the models.
Timestamps are stored as UTC (naive in SQLite, timestamptz in PostgreSQL).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applicant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.String(length=18), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applicant")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_applicant_citizen_id")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("permit_number", sa.String(length=32), nullable=True),
        sa.Column("card_number", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_card_number"), ["card_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_permit_number"), ["permit_number"], unique=False)

    op.create_table(
        "temporary_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("arrived_on", sa.Date(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("intended_stay_days", sa.Integer(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["applicant.id"], name=op.f("fk_temporary_registration_applicant_id_applicant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_temporary_registration")),
    )
    with op.batch_alter_table("temporary_registration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_temporary_registration_applicant_id"), ["applicant_id"], unique=False)

    op.create_table(
        "permit_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=True),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("issue_deadline", sa.Date(), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("via_agent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["applicant.id"], name=op.f("fk_permit_application_applicant_id_applicant")
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["temporary_registration.id"],
            name=op.f("fk_permit_application_registration_id_temporary_registration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit_application")),
    )
    with op.batch_alter_table("permit_application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permit_application_applicant_id"), ["applicant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_permit_application_issue_deadline"), ["issue_deadline"], unique=False)

    op.create_table(
        "permit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_number", sa.String(length=32), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("citizen_id", sa.String(length=18), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("layout_id", sa.String(length=64), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("suspension_reason", sa.String(length=32), nullable=True),
        sa.Column("anchor_on", sa.Date(), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["applicant_id"], ["applicant.id"], name=op.f("fk_permit_applicant_id_applicant")),
        sa.ForeignKeyConstraint(
            ["application_id"], ["permit_application.id"], name=op.f("fk_permit_application_id_permit_application")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit")),
        sa.UniqueConstraint("permit_number", name=op.f("uq_permit_permit_number")),
    )
    with op.batch_alter_table("permit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permit_applicant_id"), ["applicant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_permit_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_permit_status"), ["status"], unique=False)

    op.create_table(
        "card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_number", sa.String(length=32), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("chip_public_key", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["permit_id"], ["permit.id"], name=op.f("fk_card_permit_id_permit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card")),
        sa.UniqueConstraint("card_number", name=op.f("uq_card_card_number")),
        sa.UniqueConstraint("permit_id", "generation", name=op.f("uq_card_permit_id")),
    )
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_permit_id"), ["permit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_card_status"), ["status"], unique=False)

    op.create_table(
        "endorsement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("endorsed_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("card_sync", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["card.id"], name=op.f("fk_endorsement_card_id_card")),
        sa.ForeignKeyConstraint(["permit_id"], ["permit.id"], name=op.f("fk_endorsement_permit_id_permit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsement")),
        sa.UniqueConstraint("permit_id", "seq", name=op.f("uq_endorsement_permit_id")),
    )
    with op.batch_alter_table("endorsement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_endorsement_card_id"), ["card_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_endorsement_card_sync"), ["card_sync"], unique=False)
        batch_op.create_index(batch_op.f("ix_endorsement_permit_id"), ["permit_id"], unique=False)

    op.create_table(
        "issuance_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("supersedes_card_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("verified_digest", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["card.id"], name=op.f("fk_issuance_job_card_id_card")),
        sa.ForeignKeyConstraint(["permit_id"], ["permit.id"], name=op.f("fk_issuance_job_permit_id_permit")),
        sa.ForeignKeyConstraint(
            ["supersedes_card_id"], ["card.id"], name=op.f("fk_issuance_job_supersedes_card_id_card")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuance_job")),
        sa.UniqueConstraint("card_id", name=op.f("uq_issuance_job_card_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_issuance_job_idempotency_key")),
    )
    with op.batch_alter_table("issuance_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issuance_job_permit_id"), ["permit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_issuance_job_state"), ["state"], unique=False)

    op.create_table(
        "status_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["card.id"], name=op.f("fk_status_history_card_id_card")),
        sa.ForeignKeyConstraint(["permit_id"], ["permit.id"], name=op.f("fk_status_history_permit_id_permit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_history")),
    )
    with op.batch_alter_table("status_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_history_permit_id"), ["permit_id"], unique=False)

    op.create_table(
        "fee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("article", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["issuance_job.id"], name=op.f("fk_fee_job_id_issuance_job")),
        sa.ForeignKeyConstraint(["permit_id"], ["permit.id"], name=op.f("fk_fee_permit_id_permit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee")),
    )
    with op.batch_alter_table("fee", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fee_permit_id"), ["permit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fee", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fee_permit_id"))

    op.drop_table("fee")
    with op.batch_alter_table("status_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_history_permit_id"))

    op.drop_table("status_history")
    with op.batch_alter_table("issuance_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issuance_job_state"))
        batch_op.drop_index(batch_op.f("ix_issuance_job_permit_id"))

    op.drop_table("issuance_job")
    with op.batch_alter_table("endorsement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_endorsement_permit_id"))
        batch_op.drop_index(batch_op.f("ix_endorsement_card_sync"))
        batch_op.drop_index(batch_op.f("ix_endorsement_card_id"))

    op.drop_table("endorsement")
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_status"))
        batch_op.drop_index(batch_op.f("ix_card_permit_id"))

    op.drop_table("card")
    with op.batch_alter_table("permit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permit_status"))
        batch_op.drop_index(batch_op.f("ix_permit_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_permit_applicant_id"))

    op.drop_table("permit")
    with op.batch_alter_table("permit_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permit_application_issue_deadline"))
        batch_op.drop_index(batch_op.f("ix_permit_application_applicant_id"))

    op.drop_table("permit_application")
    with op.batch_alter_table("temporary_registration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_temporary_registration_applicant_id"))

    op.drop_table("temporary_registration")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_permit_number"))
        batch_op.drop_index(batch_op.f("ix_audit_log_card_number"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
    op.drop_table("applicant")
