"""Per-call control of third-party log output.

Libraries such as afmformats log tracebacks for failures that cellmech re-raises as one-line
errors. Silencing them by disabling the logger would silence every thread of the process;
:func:`quiet` drops only the records emitted by the calling thread, for the duration of the
call, so concurrent runs never switch each other's logging off or on.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

__all__ = ["quiet"]


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread


@contextlib.contextmanager
def quiet(name: str) -> Iterator[None]:
    """Drop the records of logger ``name`` (and its children) emitted by this thread."""
    logger = logging.getLogger(name)
    only_here = _ThisThread()
    handlers = [h for lg in _chain(logger) for h in lg.handlers]
    if logging.lastResort is not None:  # what prints records when no handler is configured
        handlers.append(logging.lastResort)
    for handler in handlers:
        handler.addFilter(only_here)
    logger.addFilter(only_here)
    try:
        yield
    finally:
        logger.removeFilter(only_here)
        for handler in handlers:
            handler.removeFilter(only_here)


def _chain(logger: logging.Logger) -> list[logging.Logger]:
    """``logger`` and its ancestors whose handlers it propagates to."""
    out: list[logging.Logger] = []
    current: logging.Logger | None = logger
    while current is not None:
        out.append(current)
        current = current.parent if current.propagate else None
    return out
