"""Signed status list: every card that is not active, published by the registry and cached at counters."""

from cardsvc.status_list.cache import (
    Binding,
    OnlineLookup,
    OnlineStatus,
    StatusAnswer,
    StatusListCache,
    StatusSource,
)
from cardsvc.status_list.compact import (
    StatusDelta,
    open_status_delta,
    open_status_list,
    sign_status_delta,
    sign_status_list,
    verify_status_list,
)
from cardsvc.status_list.errors import (
    StatusListCacheError,
    StatusListChainError,
    StatusListError,
    StatusListFormatError,
    StatusListGapError,
    StatusListIssuerError,
    StatusListNotYetValidError,
    StatusListRollbackError,
    StatusStaleError,
    StatusUnavailableError,
)
from cardsvc.status_list.index import StatusIndex
from cardsvc.status_list.model import ListStatus, StatusEntry, StatusList

__all__ = [
    "Binding", "ListStatus", "OnlineLookup", "OnlineStatus", "StatusAnswer", "StatusDelta", "StatusEntry",
    "StatusIndex", "StatusList", "StatusListCache", "StatusListCacheError", "StatusListChainError",
    "StatusListError", "StatusListFormatError", "StatusListGapError", "StatusListIssuerError",
    "StatusListNotYetValidError", "StatusListRollbackError", "StatusSource", "StatusStaleError",
    "StatusUnavailableError", "open_status_delta", "open_status_list", "sign_status_delta", "sign_status_list",
    "verify_status_list",
]
