"""A ``Connection`` wrapper that counts what crosses the wire: APDUs and bytes each way."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from cardsvc.transport.base import Connection


class CountingConnection:
    """Pass-through ``Connection``; ``apdus``, ``command_bytes`` and ``response_bytes`` (data + SW)."""

    def __init__(self, inner: Connection) -> None:
        self.inner = inner
        self.apdus = 0
        self.command_bytes = 0
        self.response_bytes = 0

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.apdus += 1
        self.command_bytes += len(apdu)
        data, sw = self.inner.transmit(apdu)
        self.response_bytes += len(data) + 2
        return data, sw

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
