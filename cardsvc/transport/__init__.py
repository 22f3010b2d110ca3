"""Card links: the ``Connection`` protocol, its PC/SC adapter, reader listing, the card-event monitor.

Only ``cardsvc.transport.pcsc`` imports pyscard; import it (or ``monitor``) explicitly when a real
reader is needed, so code that runs against the virtual card never loads the PC/SC library.
"""

from cardsvc.transport.base import Connection, ReaderStatus, split_response
from cardsvc.transport.errors import (
    CardRemovedError,
    CardWaitTimeout,
    NoCardError,
    ReaderUnavailableError,
    TransportError,
)

__all__ = [
    "CardRemovedError",
    "CardWaitTimeout",
    "Connection",
    "NoCardError",
    "ReaderStatus",
    "ReaderUnavailableError",
    "TransportError",
    "split_response",
]
