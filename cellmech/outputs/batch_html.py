"""``batch_report.html``: one self-contained page for a batch.

A table of the samples (status, cells, curves, registration verdict, time, a link to each
sample's ``report.html``), the distributions of Young's modulus of the ok curves on cells per
sample and per condition (box plots, log scale, kPa; matplotlib Agg, embedded PNG), the
failures with their errors, and the files that found no partner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.outputs.figures import data_uri
from cellmech.outputs.files import atomic_path
from cellmech.outputs.htmltext import STYLE, escape, figure, format_number, section
from cellmech.units import PA_PER_KPA

__all__ = ["write_batch_html"]

#: row colours by status, over the report's style sheet
_STYLE = STYLE + "tr.failed td{background:#fdecea}tr.needs_review td{background:#fff3cd}"


def _boxplot_png(groups: Mapping[str, np.ndarray], title: str) -> str:
    """Box plots of ``groups`` (Pa) in kPa on a log axis, as a base64 PNG data URI."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    names = [k for k, v in groups.items() if len(v)]
    fig = Figure(figsize=(max(4.0, 0.6 * len(names) + 2), 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.boxplot([groups[k] / PA_PER_KPA for k in names], showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=45, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylabel("Young's modulus (kPa)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return data_uri(fig)


def _figures(samples: Sequence[Mapping[str, Any]], moduli: Mapping[str, np.ndarray]) -> str:
    if not any(len(v) for v in moduli.values()):
        return "<p>No ok curve on a cell in any sample.</p>"
    caption = (
        "Young's modulus of the ok curves on cells, per sample (box: quartiles, whiskers: "
        "1.5 IQR, outliers not drawn)."
    )
    parts = [figure(_boxplot_png(moduli, "per sample"), caption, "moduli per sample")]
    conditions: dict[str, list[np.ndarray]] = {}
    for row in samples:
        if "condition" in row and row["sample"] in moduli:
            conditions.setdefault(str(row["condition"]), []).append(moduli[row["sample"]])
    if conditions:
        groups = {k: np.concatenate(v) for k, v in conditions.items()}
        uri = _boxplot_png(groups, "per condition")
        parts.append(figure(uri, "The same curves pooled per condition.", "per condition"))
    return "\n".join(parts)


def _cell(value: Any) -> str:
    return "–" if value is None else escape(format_number(value))


def _sample_table(samples: Sequence[Mapping[str, Any]], extra: Sequence[str]) -> str:
    head = ["sample", "status", *extra, "cells", "curves", "ok curves", "registration"]
    head += ["time (s)", "report"]
    rows = ["<tr>" + "".join(f"<th class=t>{escape(h)}</th>" for h in head) + "</tr>"]
    for s in samples:
        accepted = s.get("registration_accepted")
        reg = "–" if accepted is None else ("accepted" if accepted else "NOT accepted")
        link = f'<a href="{escape(s["report"])}">report</a>' if s.get("report") else "–"
        status = s["status"] + (" (needs review)" if s["status"] == "skipped" and
                                s.get("needs_review") else "")  # fmt: skip
        cells = [
            escape(s["sample"]),
            escape(status),
            *(_cell(s.get(c)) for c in extra),
            _cell(s.get("n_cells")),
            _cell(s.get("n_curves")),
            _cell(s.get("n_curves_ok")),
            reg,
            _cell((s.get("timing_s") or {}).get("total")),
            link,
        ]
        row = "".join(f"<td{' class=t' if i < 2 else ''}>{c}</td>" for i, c in enumerate(cells))
        rows.append(f'<tr class="{escape(s["status"])}">{row}</tr>')
    return '<div class="scroll"><table>' + "\n".join(rows) + "</table></div>"


def _problems(report: Mapping[str, Any]) -> str:
    failed = [s for s in report["samples"] if s["status"] == "failed"]
    parts = []
    if failed:
        items = "".join(
            f"<li><b>{escape(s['sample'])}</b>: {escape(s['error'])}</li>" for s in failed
        )
        parts.append(section("failures", "Failures", f"<ul>{items}</ul>"))
    if report["unpaired"]:
        items = "".join(
            f"<li>{escape(u['path'])}: {escape(u['reason'])}</li>" for u in report["unpaired"]
        )
        text = "Not run; rename them to pair by name or list them in a pairs CSV (--pairs)."
        parts.append(
            section("unpaired", "Files without a partner", f"<p>{text}</p><ul>{items}</ul>")
        )
    return "\n".join(parts)


def write_batch_html(
    path: Path, report: Mapping[str, Any], moduli: Mapping[str, np.ndarray]
) -> Path:
    """Write the batch page from ``report`` (``batch_report.json`` content) and the per-sample
    moduli of the ok curves on cells (Pa); returns ``path``."""
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in report["counts"].items() if n)
    body = [
        "<h1>cellmech batch</h1>",
        f"<p class=meta>{escape(counts or 'no samples')} · exit code {report.get('exit_code')} · "
        f"{escape(str(report.get('engine', '')))} · cellmech {escape(report['cellmech'])}</p>",
        _sample_table(report["samples"], report["extra_columns"]),
        section("moduli", "Young's modulus distributions", _figures(report["samples"], moduli)),
        _problems(report),
        '<p>Combined tables: <a href="cells.csv">cells.csv</a>, cells.parquet, curves.parquet; '
        'options: <a href="config.toml">config.toml</a>.</p>',
    ]
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>cellmech batch</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
