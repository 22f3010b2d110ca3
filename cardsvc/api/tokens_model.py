"""The `api_token` table: access tokens bound to a station and a role, stored only as SHA-256 hashes.

Uses the registry's declarative Base so one Alembic history (cardsvc/registry/migrations) covers it;
migration 0002_api_tokens creates the table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cardsvc.registry.models import Base


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256 of the token
    role: Mapped[str] = mapped_column(String(32))
    station_id: Mapped[str] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(32))  # department role only
    label: Mapped[str] = mapped_column(String(64))  # operator / purpose, shown in the audit log
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Last use by a page session (cookie), for its idle timeout; updated at most once a minute.
    last_used_at: Mapped[datetime | None]
