"""Progress bars of the commands: tqdm when one is shown, a silent stand-in otherwise (tqdm is
then not even imported: ~25 ms of a small run's start-up)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["progress_bar"]


class _Silent:
    """Accepts what the commands do to a tqdm bar (``update``, ``reset``, ``refresh``,
    ``set_description``, ``set_postfix_str``, reading and setting ``n``) and shows nothing."""

    n = 0

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


@contextlib.contextmanager
def progress_bar(quiet: bool, **options: Any) -> Iterator[Any]:
    """A ``tqdm(**options)`` bar, or a silent stand-in when ``quiet``."""
    if quiet:
        yield _Silent()
        return
    from tqdm import tqdm

    with tqdm(**options) as bar:
        yield bar
