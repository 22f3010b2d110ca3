"""Signed status list: every card that is not active, published by the registry and cached at counters."""

from cardsvc.status_list.cache import (
    Binding,
    OnlineLookup,
    OnlineStatus,
    StatusAnswer,
    StatusListCache,
    StatusSource,
)
from cardsvc.status_list.codec import sign_status_list, verify_status_list
from cardsvc.status_list.errors import (
    StatusListCacheError,
    StatusListError,
    StatusListFormatError,
    StatusListIssuerError,
    StatusListNotYetValidError,
    StatusListRollbackError,
    StatusStaleError,
    StatusUnavailableError,
)
from cardsvc.status_list.model import ListStatus, StatusEntry, StatusList

__all__ = [
    "Binding", "ListStatus", "OnlineLookup", "OnlineStatus", "StatusAnswer", "StatusEntry", "StatusList",
    "StatusListCache", "StatusListCacheError", "StatusListError", "StatusListFormatError", "StatusListIssuerError",
    "StatusListNotYetValidError", "StatusListRollbackError", "StatusSource", "StatusStaleError",
    "StatusUnavailableError", "sign_status_list", "verify_status_list",
]
