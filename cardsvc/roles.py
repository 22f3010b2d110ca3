"""The roles a token or an audit actor acts in (design §7). Apart from `cardsvc.api.auth` so the CLI can
offer them without importing the service."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PRINT_STATION = "print_station"  # 制证: personalizes and prints cards
    COUNTER = "counter"  # 窗口: accepts applications, verifies presented cards, records loss etc.
    ENDORSEMENT = "endorsement"  # 签注: yearly endorsement and address changes
    DEPARTMENT = "department"  # 一证通 department (ZZ Art.6/9/24): its own application data only
    ADMIN = "admin"
