"""An interrupt that lands where Python cannot raise it is delivered again, not lost.

A signal handler runs wherever the main thread is, also inside a weakref callback, a
``__del__`` or a garbage-collector callback, where CPython cannot propagate the
KeyboardInterrupt: it prints "Exception ignored ... Traceback" and carries on as if nothing
had been asked. :func:`redeliver_lost_interrupts`, installed as ``sys.unraisablehook`` by the
command line, has the interrupt raised again a moment later, once the main thread has left
the callback (should it land in one again, this repeats). This module imports nothing heavy,
so ``python -m cellmech`` installs it before it imports the command line.
"""

from __future__ import annotations

import _thread
import signal
import sys
import time

__all__ = ["redeliver_lost_interrupts"]

#: how long the main thread has to leave the callback that swallowed the interrupt
REDELIVERY_DELAY_S = 0.01


def redeliver_lost_interrupts(unraisable: object) -> None:
    """``sys.unraisablehook``: a swallowed KeyboardInterrupt is raised again from another
    thread; every other unraisable exception goes to the default hook."""
    if issubclass(unraisable.exc_type, KeyboardInterrupt):  # type: ignore[attr-defined]
        # no contextlib.suppress: no Python-level calls in the hook, where a signal arriving
        # now would be swallowed again
        try:  # noqa: SIM105
            _thread.start_new_thread(_interrupt_main_soon, ())  # returns at once
        except RuntimeError:  # no new threads (the interpreter is shutting down): the work
            pass  # is done, nothing is left to interrupt
        return
    sys.__unraisablehook__(unraisable)  # type: ignore[arg-type]


def _interrupt_main_soon() -> None:
    """Raise the interrupt in the main thread while the hook is still installed (a command
    or the command line's imports are running; once the program has removed it, the work is
    done and nothing is raised): through SIGTERM when Python handles it (the command line's
    handler), else through SIGINT (Python's own KeyboardInterrupt)."""
    time.sleep(REDELIVERY_DELAY_S)
    if sys.unraisablehook is not redeliver_lost_interrupts:
        return
    handled = callable(signal.getsignal(signal.SIGTERM))
    _thread.interrupt_main(signal.SIGTERM if handled else signal.SIGINT)
