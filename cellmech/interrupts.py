"""Interrupts of a command: SIGTERM like Ctrl-C, and none lost where Python cannot raise.

A signal handler runs wherever the main thread is, also inside a weakref callback, a
``__del__`` or a garbage-collector callback, where CPython cannot propagate the
KeyboardInterrupt: it prints "Exception ignored ... Traceback" and carries on as if nothing
had been asked. While :func:`interrupts_redelivered` is in force,
:func:`redeliver_lost_interrupts` (``sys.unraisablehook``) has the interrupt raised again a
moment later, once the main thread has left the callback (should it land in one again, this
repeats). After the block nothing is raised: the work is done. This module imports nothing
heavy, so ``python -m cellmech`` uses it while it imports the command line.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

__all__ = [
    "interrupts_redelivered",
    "raise_keyboard_interrupt",
    "redeliver_lost_interrupts",
    "sigterm_interrupts",
]

#: how long the main thread has to leave the callback that swallowed the interrupt
REDELIVERY_DELAY_S = 0.01
#: the hooks :func:`interrupts_redelivered` replaced, innermost last
_replaced_hooks: list[Callable] = []


def raise_keyboard_interrupt(signum: int, frame: object) -> None:
    """Signal handler: raise KeyboardInterrupt, as Ctrl-C does."""
    raise KeyboardInterrupt


def redeliver_lost_interrupts(unraisable: object) -> None:
    """``sys.unraisablehook``: a swallowed KeyboardInterrupt is raised again from another
    thread; every other unraisable exception goes to the hook this one replaced."""
    if issubclass(unraisable.exc_type, KeyboardInterrupt):  # type: ignore[attr-defined]
        # no contextlib.suppress: no Python-level calls in the hook, where a signal arriving
        # now would be swallowed again
        try:  # noqa: SIM105
            _thread.start_new_thread(_interrupt_main_soon, ())  # returns at once
        except RuntimeError:  # no new threads (the interpreter is shutting down): the work
            pass  # is done, nothing is left to interrupt
        return
    _replaced_hook()(unraisable)


def _replaced_hook() -> Callable:
    """The innermost hook that :func:`interrupts_redelivered` replaced, not counting itself."""
    for hook in reversed(_replaced_hooks):
        if hook is not redeliver_lost_interrupts:
            return hook
    return sys.__unraisablehook__


def _interrupt_main_soon() -> None:
    """Raise the interrupt in the main thread while the hook is in force: through SIGTERM
    when :func:`sigterm_interrupts` handles it, else through SIGINT when Python's own
    handler does (never through a handler someone else installed)."""
    time.sleep(REDELIVERY_DELAY_S)
    if sys.unraisablehook is not redeliver_lost_interrupts:
        return
    if signal.getsignal(signal.SIGTERM) is raise_keyboard_interrupt:
        _thread.interrupt_main(signal.SIGTERM)
    elif signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        _thread.interrupt_main(signal.SIGINT)


@contextlib.contextmanager
def interrupts_redelivered() -> Iterator[None]:
    """Install :func:`redeliver_lost_interrupts` as ``sys.unraisablehook`` for the block;
    the previous hook is restored after it and receives every other unraisable exception."""
    previous = sys.unraisablehook
    _replaced_hooks.append(previous)
    sys.unraisablehook = redeliver_lost_interrupts
    try:
        yield
    finally:
        sys.unraisablehook = previous
        _replaced_hooks.pop()


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt (like Ctrl-C) during the block, so an interrupted
    command cleans its staging folder and exits 130, and interrupts are redelivered
    (:func:`interrupts_redelivered`). Only in the main thread; the handler is restored after,
    also when a pending interrupt is raised while it is being restored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    try:
        with interrupts_redelivered():
            yield
    finally:
        try:  # signal.signal runs pending handlers before it changes anything
            signal.signal(signal.SIGTERM, previous)
        except KeyboardInterrupt:
            signal.signal(signal.SIGTERM, previous)
            raise
