"""Progress of long work on stderr: one line for all readers of a batch, redrawn in place on a terminal."""

from __future__ import annotations

import shutil
import sys
from typing import Any


class ProgressLine:
    """One status line on stderr for all readers (redrawn in place), a line per finished card."""

    def __init__(self, total: int, stream: Any = sys.stderr) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.readers: dict[str, str] = {}
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def __call__(self, p: Any) -> None:
        if p.finished:
            self.done += 1
            self.readers.pop(p.reader, None)
            self._line(f"[{self.done}/{self.total}] {p.reader}: card {p.card_number} {p.what}", final=True)
            return
        width = 20
        filled = width * p.step // max(p.steps, 1)
        self.readers[p.reader] = f"{p.reader} {p.card_number} [{'#' * filled}{'.' * (width - filled)}] {p.what}"
        if self.tty:
            self._line(" | ".join(self.readers.values()), final=False)

    def _line(self, text: str, final: bool) -> None:
        columns = shutil.get_terminal_size((120, 20)).columns
        if self.tty:
            self.stream.write("\r\x1b[K" + text[: columns - 1] + ("\n" if final else ""))
        elif final:
            self.stream.write(text + "\n")
        self.stream.flush()
