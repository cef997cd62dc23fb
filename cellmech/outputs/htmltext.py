"""HTML building blocks of the report: inline style sheet, escaping, numbers and SI column
names for people (3 significant digits; µm, µm², µm³, kPa, nN), tables, figures, sections."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from cellmech.units import M_PER_UM, PA_PER_KPA

__all__ = [
    "HUMAN_UNITS",
    "STYLE",
    "escape",
    "figure",
    "format_number",
    "human_column",
    "note",
    "section",
    "table",
]

#: SI name suffix -> (unit shown, SI value of one shown unit); longer suffixes first
HUMAN_UNITS = (
    ("_n_per_m", "N/m", 1.0),
    ("_m3", "µm³", M_PER_UM**3),
    ("_m2", "µm²", M_PER_UM**2),
    ("_pa", "kPa", PA_PER_KPA),
    ("_m", "µm", M_PER_UM),
    ("_n", "nN", 1e-9),
    ("_s", "s", 1.0),
    ("_deg", "°", 1.0),
    ("_px", "px", 1.0),
)
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;
max-width:960px;margin:1.5em auto;padding:0 1em;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;
padding-bottom:.2em;margin-top:1.8em}.meta{color:#555;font-size:.9em}
.box{border-radius:6px;padding:.6em 1em;margin:1em 0}.warn{background:#fff3cd;
border:2px solid #d39e00}.warn h2{border:0;margin:.2em 0;color:#8a5a00}
.severe{background:#fdecea;border-color:#c62828}.severe h2{color:#b71c1c}.fine{background:#e8f5e9;
border:1px solid #66bb6a}.note{color:#555;font-style:italic}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}th,td{border:1px solid #ccc;
padding:.25em .5em;text-align:right}th{background:#f2f2f2}td.t,th.t{text-align:left}
.scroll{overflow-x:auto}figure{margin:1em 0}figure img{max-width:100%;height:auto;
border:1px solid #ddd}figcaption{font-size:.85em;color:#444;margin-top:.3em}
tr.bad td{background:#fdecea}nav a{margin-right:.8em;font-size:.9em}
"""


def escape(text: Any) -> str:
    """``text`` as HTML-safe text."""
    return html.escape(str(text))


def format_number(value: Any) -> str:
    """A value for people: 3 significant digits, no exponent between 1e-3 and 1e6, "–" for
    NaN, "yes"/"no" for flags."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return "–"
        rounded = float(f"{value:.3g}")
        return f"{rounded:g}" if rounded == 0 or 1e-3 <= abs(rounded) < 1e6 else f"{value:.3g}"
    return str(value)


def human_column(name: str, labels: dict[str, str] | None = None) -> tuple[str, float]:
    """``(header, divisor)``: the header of an SI-named column in display units (e.g.
    ``volume_m3`` -> ``"volume (µm³)"``, 1e-18); the SI value divided by ``divisor`` is the
    value shown."""
    labels = labels or {}
    for suffix, unit, factor in HUMAN_UNITS:
        if name.endswith(suffix):
            base = labels.get(name, name[: -len(suffix)].replace("_", " "))
            return f"{base} ({unit})", factor
    if name.startswith("intensity_"):
        return f"{name.replace('_', ' ')} (a.u.)", 1.0
    return labels.get(name, name.replace("_", " ")), 1.0


def table(header: Sequence[str], rows: Iterable[Sequence[str]], table_id: str = "",
           bad_rows: Sequence[bool] = ()) -> str:  # fmt: skip
    """An HTML table of already formatted cells (escaped here); first column left-aligned."""
    head = "".join(
        f"<th{' class=t' if i == 0 else ''}>{escape(h)}</th>" for i, h in enumerate(header)
    )
    body = []
    for j, row in enumerate(rows):
        cls = ' class="bad"' if j < len(bad_rows) and bad_rows[j] else ""
        cells = "".join(
            f"<td{' class=t' if i == 0 else ''}>{escape(c)}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    ident = f' id="{table_id}"' if table_id else ""
    return f'<div class="scroll"><table{ident}><tr>{head}</tr>{"".join(body)}</table></div>'


def figure(uri: str, caption: str, alt: str) -> str:
    return (
        f'<figure><img src="{uri}" alt="{escape(alt)}"><figcaption>{caption}</figcaption></figure>'
    )


def section(anchor: str, heading: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(heading)}</h2>\n{body}</section>'


def note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'
