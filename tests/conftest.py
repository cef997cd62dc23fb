"""Shared fixtures: the real vendor recordings in ../shared/data/real-afm (never copied here)."""

from __future__ import annotations

from pathlib import Path

import pytest

REAL_AFM_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real-afm"

#: spring constants stated in the data README, N/m
REAL_SPRING_CONSTANTS = {
    "fmt-jpk-fd_map2x2_extracted.jpk-force-map": 0.01548,
    "fmt-jpk-fd_map-data-reference-points.jpk-force-map": 0.01095,
    "fmt-jpk-fd_2020.02.07-16.29.05.036.jpk-qi-data": 0.03011,
    "fmt-jpk-fd_spot3-0192.jpk-force": 0.04349,
    "fmt-jpk-fd_flipsign_2015.05.22-15.31.49.352.jpk-force": 0.01869,
    "force-save-example.jpk-force": 0.02230,
    "fmt-jpk-fd_single_bad_2017-01-16_1.jpk-force": 0.018,
    "fmt-igor-fd_U3_3_p10004.ibw": 0.3145,
}


def real_afm_file(name: str) -> Path:
    """Path of a real recording, skipping the calling test when the data folder is absent."""
    path = REAL_AFM_DIR / name
    if not path.exists():
        pytest.skip(f"real AFM data not available: {path} (see ../shared/data/real-afm/README.md)")
    return path


def real_afm_files(pattern: str = "*") -> list[Path]:
    """Real recordings matching ``pattern`` (empty when the folder is absent)."""
    if not REAL_AFM_DIR.is_dir():
        return []
    return sorted(p for p in REAL_AFM_DIR.glob(pattern) if p.suffix != ".md")


@pytest.fixture
def real_afm_dir() -> Path:
    """The real-data folder; skips the test when it is absent."""
    if not REAL_AFM_DIR.is_dir():
        pytest.skip(f"real AFM data folder not available: {REAL_AFM_DIR}")
    return REAL_AFM_DIR
