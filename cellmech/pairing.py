"""Which AFM map goes with which fluorescence stack: the pairing of a batch.

Two ways, both checked before anything runs:

**Naming rule** (:func:`pair_folder`). Every file at the top level of the input folder is
classified by :func:`cellmech.io.identify` (AFM or fluorescence; other files are ignored and
listed). A file's *stem* is its name without the reader suffix (``cell3.jpk-force-map`` ->
``cell3``, ``cell3.ome.tif`` -> ``cell3``). A fluorescence file whose stem ends in ``_labels``,
``-labels`` or ``.labels`` is a label image for the sample of the stem before it. Then:

1. an AFM file and a fluorescence file with the same stem pair, the sample named by the stem;
2. the remaining files pair by their *common prefix up to a separator* (``_ - .`` or space):
   ``day1_cell3_afm.jpk-force-map`` and ``day1_cell3_gfp.ome.tif`` share ``day1_cell3``. An AFM
   file pairs with the fluorescence file sharing its longest such prefix only when that match is
   unique and mutual (neither file shares an equally long prefix with another file); the sample
   is named by the prefix.

Everything else is *unpaired* and reported with the reason (no partner, or which files tie).
JPK export names (``map-data-2024.05.13-15.02.11.jpk-force-map`` next to ``cell3.ome.tif``)
share no prefix, so they never pair by themselves: rename the files or give a pairs CSV.

**Pairs CSV** (:func:`read_pairs_csv`): columns ``sample,afm,fluorescence`` and optionally
``labels``; any further column (``condition``, ``donor``, ``passage`` ...) is carried into the
combined tables. Relative paths are relative to the input folder.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cellmech.errors import CellmechError, ConfigError, UnsupportedFormatError
from cellmech.io import identify, readers

__all__ = ["Pair", "Pairing", "pair_folder", "read_pairs_csv", "stem"]

#: characters ending a name prefix in the naming rule
SEPARATORS = "_-. "
#: stem endings marking a label image
LABEL_TAGS = ("_labels", "-labels", ".labels")
#: CSV columns with a fixed meaning
CSV_COLUMNS = ("sample", "afm", "fluorescence", "labels")
#: valid sample names (they become folder names under OUT)
_SAMPLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
#: names OUT uses for itself; a sample cannot take them
RESERVED_NAMES = frozenset(
    {"cells.csv", "cells.parquet", "curves.parquet", "batch_report.json", "batch_report.html"}
    | {"config.toml"}
)


@dataclass(frozen=True)
class Pair:
    """One sample of a batch.

    Parameters
    ----------
    sample : str
        Sample name (its output folder ``OUT/<sample>``).
    afm : Path
        The AFM force map.
    fluorescence : Path
        The fluorescence stack of the same field.
    labels : Path or None
        A label image made elsewhere (replaces the segmentation).
    extra : mapping of str to str
        Extra CSV columns (condition, donor ...), carried into the combined tables.
    """

    sample: str
    afm: Path
    fluorescence: Path
    labels: Path | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pairing:
    """The outcome of pairing: the samples to run and what was left out.

    Parameters
    ----------
    pairs : tuple of Pair
        Samples, sorted by name.
    unpaired : tuple of (Path, str)
        AFM and fluorescence files without a partner, with the reason.
    ignored : tuple of Path
        Files no reader recognises (notes, truth tables ...).
    """

    pairs: tuple[Pair, ...]
    unpaired: tuple[tuple[Path, str], ...] = ()
    ignored: tuple[Path, ...] = ()

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Extra CSV column names, in file order."""
        return tuple(self.pairs[0].extra) if self.pairs else ()


def stem(path: Path) -> str:
    """The file name without its reader suffix (the longest registered one that matches)."""
    name = path.name
    suffixes = sorted({s for r in readers() for s in r.suffixes}, key=len, reverse=True)
    for suffix in suffixes:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return path.stem


def classify(path: Path) -> str | None:
    """ "afm", "fluorescence", "labels" or None (no reader takes it). An empty or broken file
    with an AFM suffix still counts as AFM, so its sample fails with the reader's message
    instead of vanishing from the batch."""
    try:
        kind = identify(path)
    except UnsupportedFormatError:
        return None
    except CellmechError:  # empty or unreadable: classify by suffix
        kinds = {r.kind for r in readers() if r.matches_suffix(path)}
        kind = "afm" if "afm" in kinds else next(iter(kinds), None)
    if kind == "fluorescence" and stem(path).lower().endswith(LABEL_TAGS):
        return "labels"
    return kind


def _prefix_len(a: str, b: str) -> int:
    """Length of the longest common prefix of ``a`` and ``b`` that ends at a separator (or
    at the end) of both names; 0 when there is none."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    while n > 0:
        ends_a = n == len(a) or a[n] in SEPARATORS
        ends_b = n == len(b) or b[n] in SEPARATORS
        if ends_a and ends_b:
            return len(a[:n].rstrip(SEPARATORS))
        n -= 1
    return 0


def _best(name: str, others: list[str]) -> tuple[int, list[str]]:
    """The longest prefix length ``name`` shares with any of ``others`` and who shares it."""
    scores = {o: _prefix_len(name, o) for o in others}
    top = max(scores.values(), default=0)
    return top, [o for o, s in scores.items() if s == top and top > 0]


def _match_by_prefix(afm: dict[str, Path], fluo: dict[str, Path]):
    """Mutual unique best prefix matches; returns (sample -> (afm stem, fluo stem), reasons)."""
    matched: dict[str, tuple[str, str]] = {}
    reasons: dict[str, str] = {}
    for a in afm:
        top, best = _best(a, list(fluo))
        if not best:
            reasons[a] = "no fluorescence file shares its name or a name prefix"
            continue
        rivals = _best(best[0], list(afm))[1]
        if len(best) > 1 or rivals != [a]:
            tied = sorted({*best, *rivals} - {a})
            reasons[a] = f"ambiguous name prefix {a[:top]!r}, shared with {', '.join(tied)}"
            continue
        matched[a[:top]] = (a, best[0])
    return matched, reasons


def pair_folder(folder: str | Path) -> Pairing:
    """Pair the AFM and fluorescence files at the top level of ``folder`` by the naming rule
    (module docstring); hidden files and sub-folders are not looked at."""
    folder = Path(folder)
    kinds: dict[str, dict[str, Path]] = {"afm": {}, "fluorescence": {}, "labels": {}}
    ignored = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        kind = classify(path)
        if kind is None:
            ignored.append(path)
        else:
            kinds[kind][stem(path)] = path
    afm, fluo = kinds["afm"], kinds["fluorescence"]
    labels = {s[: -len(LABEL_TAGS[0])]: p for s, p in kinds["labels"].items()}
    exact = {s: (s, s) for s in afm if s in fluo}
    rest_a = {s: p for s, p in afm.items() if s not in exact}
    rest_f = {s: p for s, p in fluo.items() if s not in exact}
    by_prefix, reasons = _match_by_prefix(rest_a, rest_f)
    matched = {**exact, **by_prefix}
    pairs = [
        Pair(_safe_name(name), afm[a], fluo[f], labels.get(name) or labels.get(a))
        for name, (a, f) in matched.items()
    ]
    used_f = {f for _, f in matched.values()}
    unpaired = [(afm[a], reason) for a, reason in reasons.items()]
    unpaired += [(p, "no AFM file pairs with it") for s, p in fluo.items() if s not in used_f]
    _check_unique([p.sample for p in pairs], "naming rule")
    return Pairing(
        tuple(sorted(pairs, key=lambda p: p.sample)),
        tuple(sorted(unpaired)),
        tuple(ignored),
    )


def _safe_name(name: str) -> str:
    """A folder-safe sample name: characters outside ``A-Z a-z 0-9 . _ + -`` become ``_``."""
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", name).lstrip(".")
    return safe or "sample"


def _check_unique(names: list[str], where: str) -> None:
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{where}: sample names used twice: {', '.join(dupes)}; rename them")
    clash = sorted(set(names) & RESERVED_NAMES)
    if clash:
        raise ConfigError(f"{where}: sample names {', '.join(clash)} are batch output names")


def read_pairs_csv(csv_path: str | Path, base: str | Path) -> Pairing:
    """Samples from a pairs CSV (module docstring); paths relative to ``base``. AFM files in
    ``base`` that the CSV does not list are reported as unpaired.

    Raises
    ------
    ConfigError
        Missing columns, no rows, a bad or repeated sample name, or files that do not exist
        (all of them listed): nothing runs on a wrong pairs file.
    """
    csv_path, base = Path(csv_path), Path(base)
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = [c.strip() for c in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{csv_path}: cannot read the pairs file ({exc})") from None
    missing = [c for c in CSV_COLUMNS[:3] if c not in columns]
    if not rows or missing:
        raise ConfigError(
            f"{csv_path}: a pairs file needs the header sample,afm,fluorescence[,labels]"
            "[,condition...] and one row per sample" + (f" (missing {missing})" if missing else "")
        )
    rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items() if k} for r in rows]
    extra = [c for c in columns if c not in CSV_COLUMNS]
    pairs = [_csv_pair(csv_path, i, row, base, extra) for i, row in enumerate(rows, start=2)]
    absent = [
        f"{path} ({p.sample})"
        for p in pairs
        for path in (p.afm, p.fluorescence, p.labels)
        if path is not None and not path.is_file()
    ]
    if absent:
        raise ConfigError(f"{csv_path}: files not found: {'; '.join(absent)}")
    _check_unique([p.sample for p in pairs], str(csv_path))
    listed = {p.afm.resolve() for p in pairs}
    unpaired, ignored = [], []
    for path in sorted(q for q in base.iterdir() if q.is_file() and not q.name.startswith(".")):
        if path.resolve() == csv_path.resolve():
            continue
        kind = classify(path)
        if kind == "afm" and path.resolve() not in listed:
            unpaired.append((path, "not listed in the pairs file"))
        elif kind is None:
            ignored.append(path)
    return Pairing(tuple(pairs), tuple(unpaired), tuple(ignored))


def _csv_pair(csv_path: Path, line: int, row: dict[str, str], base: Path, extra) -> Pair:
    name = row.get("sample", "")
    if not _SAMPLE_NAME.match(name) or name in RESERVED_NAMES:
        raise ConfigError(
            f"{csv_path} line {line}: sample {name!r} must start with a letter or digit, hold "
            "only letters, digits and . _ + -, and not be a batch output name"
        )
    paths = {
        col: (Path(row[col]) if Path(row[col]).is_absolute() else base / row[col])
        for col in ("afm", "fluorescence", "labels")
        if row.get(col)
    }
    if "afm" not in paths or "fluorescence" not in paths:
        raise ConfigError(f"{csv_path} line {line}: give both an afm and a fluorescence file")
    return Pair(
        name,
        paths["afm"],
        paths["fluorescence"],
        paths.get("labels"),
        {c: row.get(c, "") for c in extra},
    )
