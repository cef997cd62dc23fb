"""Quieting a library's log is per call and per thread."""

from __future__ import annotations

import logging
import threading

from cellmech.logs import quiet


def test_quiet_drops_this_threads_records_only(caplog):
    log = logging.getLogger("cellmech_test_lib.sub")
    caplog.set_level(logging.WARNING)
    with quiet("cellmech_test_lib"):
        log.warning("from the quiet thread")
        other = threading.Thread(target=lambda: log.warning("from another thread"))
        other.start()
        other.join()
    log.warning("after the call")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["from another thread", "after the call"]
    assert not logging.getLogger("cellmech_test_lib").disabled
