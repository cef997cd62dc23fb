"""Which segments of a JPK curve cellmech reads: the approach and the retract among the rest.

A JPK force curve is a sequence of segments (``segments/<s>/`` in the archive), each with a
*style* in its header (``force-segment-header.settings.style``, or the same key of the
``force-segment-header-info.<n>`` block of ``shared-data/header.properties`` it references):
``extend`` and ``retract`` move the piezo, ``pause`` holds the height or the force (dwell,
creep-compliance and stress-relaxation recordings; ``settings.segment-settings.type`` says
which: ``constant-height-pause``, ``constant-force-pause``), and newer JPK software records
oscillation segments (style ``modulation``). cellmech fits force-distance curves, so of every
curve it reads

* the **approach**: the first ``extend`` segment;
* the **retract**: the last ``retract`` segment after it (none when there is none);

and lists the other segments (:class:`SegmentInfo`: style, type, points, duration) without
loading their data. A curve without any ``extend`` segment holds no approach and is refused.
Files that record no style at all (none seen so far) are read by position when they hold one
or two segments (extend, retract), as JPK's force-distance layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cellmech.errors import NoCurvesError

__all__ = ["SegmentInfo", "choose_segments", "describe_layout", "no_approach", "segment_info"]

#: header keys holding a segment's style, in lookup order
STYLE_KEYS = (
    "force-segment-header.settings.style",
    "force-segment-header.settings.segment-settings.style",
)
TYPE_KEY = "force-segment-header.settings.segment-settings.type"
NAME_KEY = "force-segment-header.name.name"


@dataclass(frozen=True)
class SegmentInfo:
    """One recorded segment of a curve, as its header describes it.

    Parameters
    ----------
    index : int
        Segment number in the file (``segments/<index>/``).
    style : str
        ``extend``, ``retract``, ``pause``, ``modulation`` ... ("" when not recorded).
    settings_type : str
        ``settings.segment-settings.type`` (``z-extend-force``, ``constant-force-pause`` ...;
        "" when not recorded).
    name : str
        ``name.name`` (``extend-spm``, ``pause-at-end-cellhesion200`` ...; "" when absent).
    n_points : int
        Points recorded in the segment.
    duration_s : float
        Duration in s.
    role : str
        "approach" or "retract" for the segments cellmech reads, "" for the others.
    """

    index: int
    style: str
    settings_type: str
    name: str
    n_points: int
    duration_s: float
    role: str = ""


def segment_info(props: Mapping[str, str], index: int, n_points: int, duration_s: float):
    """The :class:`SegmentInfo` of segment ``index`` from its merged header ``props``."""
    style = next((props[k] for k in STYLE_KEYS if props.get(k)), "")
    return SegmentInfo(
        index=index,
        style=style.strip().lower(),
        settings_type=props.get(TYPE_KEY, "").strip(),
        name=props.get(NAME_KEY, "").strip(),
        n_points=int(n_points),
        duration_s=float(duration_s),
    )


def choose_segments(styles: Sequence[str]) -> tuple[int | None, int | None]:
    """Approach and retract segment numbers of a curve with segment ``styles``.

    Parameters
    ----------
    styles : sequence of str
        Lower-case style of each segment in recorded order ("" when not recorded).

    Returns
    -------
    approach, retract : int or None
        The first ``extend`` segment, and the last ``retract`` segment after it; None where
        there is none. Without any recorded style, one or two segments are read by position
        (0 = approach, 1 = retract).
    """
    if not any(styles) and len(styles) <= 2:
        return (0 if styles else None), (1 if len(styles) == 2 else None)
    approach = next((s for s, style in enumerate(styles) if style == "extend"), None)
    if approach is None:
        return None, None
    after = [s for s in range(approach + 1, len(styles)) if styles[s] == "retract"]
    return approach, (after[-1] if after else None)


def describe_layout(styles: Sequence[str]) -> str:
    """Segment styles as one phrase for messages: ``"retract, pause"`` ("unknown" if unset)."""
    return ", ".join(style or "unknown" for style in styles) or "no segment"


def no_approach(path, what: str, styles: Sequence[str]) -> NoCurvesError:
    """The error for a file where ``what`` ("curve 3", "no curve") has no extend segment."""
    return NoCurvesError(
        f"{path}: {what} has no extend (approach) segment (segments: "
        f"{describe_layout(styles)}); cellmech reads force-distance curves, export them with "
        "their approach"
    )
