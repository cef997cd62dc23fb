"""Cell and nucleus segmentation of a fluorescence stack (stage ``segment``).

:func:`segment` turns a :class:`~cellmech.containers.FluorescenceStack` into a
:class:`~cellmech.containers.Segmentation`; :func:`load_labels` reads a label image made
elsewhere (Cellpose, StarDist, a napari annotation) instead. Every length is given in m and
converted to pixels with the stack's pixel size, so one set of defaults serves every
magnification.

Method
------
1. **Channel roles** (:func:`channel_roles`): the nucleus and cell channels are given by name or
   index, or recognised from dye names; a channel named only by its position is never guessed.
2. **Plane** (:func:`project`): max or mean projection over z, the best-focus plane (largest
   variance of the Laplacian, Pertuz et al., Pattern Recognit. 46, 1415 (2013)) or a plane index.
3. **Nuclei** (:func:`segment_nuclei`): Gaussian smoothing; a local threshold (default: the
   Gaussian-weighted mean over about four nucleus diameters plus half the noise level, and
   above the image's triangle threshold, so uneven brightness and dim nuclei next to bright
   ones are handled) or a global one (Otsu, Li); opening and hole filling; then a
   marker-controlled watershed on the distance transform splits touching nuclei: markers are the
   distance maxima at least half a nucleus diameter apart and at least ``nucleus_split_depth_m``
   higher than the saddle to a neighbouring maximum (h-maxima; Soille, *Morphological Image
   Analysis*, 2003, §6.3.4). The default depth, 0.3 µm, splits nuclei that press into each
   other with only a one-sided notch (0.5 µm left such pairs of the real NEUBIAS and BBBC007
   images merged) and still does not split elongated nuclei (aspect ratio up to 2.5) with
   rough outlines at 0.24-0.65 µm pixels, as 0.1-0.2 µm does (``tests/nuclei_field.py``,
   ``benchmarks/accuracy_segment.py``). Finally each nucleus's edge is redrawn at its own level
   (:func:`_refine_edges`): ``nucleus_edge_level`` of the way from its local background to
   its inner median, so bright blurred nuclei are not drawn wide and dim ones between bright
   ones not narrow. The default, 0.4, puts edges 0.3-0.6 px outside each nucleus's
   half-maximum, where expert annotators of real nuclei draw them (an expert-labelled DSB 2018
   crop: -0.1 px; BBBC007 hand labels: +0.3 px); 0.5 fits the DSB crop best and 0.3 the
   generous workflow-made NEUBIAS labels, 0.4 keeps every real set at median IoU >= 0.8.
4. **Cells** (:func:`segment_cells`): a foreground mask of the smoothed cell channel (Otsu, Li or
   triangle threshold) plus the nuclei; a watershed of the inverted cell intensity seeded by the
   nuclei (as CellProfiler's IdentifySecondaryObjects, Carpenter et al., Genome Biol. 7, R100
   (2006)) splits touching cells along their dimmest line; foreground regions that no nucleus
   reaches become cells without a nucleus. With no cell channel the cells are the nuclei grown
   by ``nucleus_grow_m`` (method ``"nuclei_grown"``).
5. Nuclei, then cells, outside their area limits are removed (with a cell its nucleus); a
   nucleus carries its cell's id and ids are consecutive from 1.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage import feature, filters, measure, morphology, segmentation

from cellmech.containers import FluorescenceStack, Segmentation
from cellmech.errors import ConfigError
from cellmech.options import check_choices, check_range, option
from cellmech.segment_labels import load_labels

__all__ = [
    "SECTION",
    "SegmentOptions",
    "channel_roles",
    "load_labels",
    "project",
    "segment",
    "segment_cells",
    "segment_nuclei",
]

SECTION = "segment"
#: case-insensitive substrings of channel names that identify a role
NUCLEUS_DYES = ("dapi", "hoechst", "draq5", "nucle", "dna", "h2b")
CELL_DYES = (
    "cellmask", "membrane", "wga", "phalloidin", "actin", "tubulin", "cytoplasm", "cyto",
)  # fmt: skip
_FLAGS = "--cell-channel and --nucleus-channel ([segment] cell_channel, nucleus_channel)"


@dataclass(frozen=True)
class SegmentOptions:
    """Options of :func:`segment` (section ``[segment]``; lengths in m, areas in m²)."""

    cell_channel: str | None = option(
        None, "cell (cytoplasm/membrane) channel, name or index; none: recognise the dye", ""
    )
    nucleus_channel: str | None = option(
        None, "nucleus channel, name or index; none: recognise the dye", ""
    )
    plane: str = option(
        "max", "z reduction: max, mean, best_focus or a plane index (0 = first)", ""
    )
    nucleus_diameter_m: float = option(
        6e-6, "smallest typical nucleus diameter; split markers are >= half of it apart", "m"
    )
    nucleus_smoothing_m: float = option(0.5e-6, "Gaussian sigma before the nucleus threshold", "m")
    nucleus_threshold: str = option(
        "local", "nucleus threshold", "", choices=("local", "otsu", "li")
    )
    nucleus_split_depth_m: float = option(
        0.3e-6, "a nucleus is split where its width narrows by at least this much", "m"
    )
    nucleus_edge_level: float = option(
        0.4,
        "nucleus edges where the intensity falls to this fraction between the local "
        "background and the nucleus's own level",
        "",
    )
    cell_smoothing_m: float = option(1e-6, "Gaussian sigma of the cell channel", "m")
    cell_threshold: str = option(
        "li", "cell foreground threshold", "", choices=("otsu", "li", "triangle")
    )
    nucleus_grow_m: float = option(
        5e-6, "nuclei-only stacks: cells are the nuclei grown by this distance", "m"
    )
    min_nucleus_area_m2: float = option(8e-12, "smaller nuclei are removed", "m2")
    max_nucleus_area_m2: float = option(800e-12, "larger nuclei are removed", "m2")
    min_cell_area_m2: float = option(30e-12, "smaller cells are removed", "m2")
    max_cell_area_m2: float = option(20000e-12, "larger cells are removed", "m2")
    working_pixel_size_m: float = option(
        0.2e-6, "finer images are segmented at this pitch (block means; labels upsampled)", "m"
    )

    def __post_init__(self) -> None:
        for name in ("cell_channel", "nucleus_channel"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value).strip() or None)
        object.__setattr__(self, "plane", str(self.plane).strip().lower())
        if self.plane not in ("max", "mean", "best_focus") and not self.plane.isdigit():
            raise ConfigError(
                f"[{SECTION}] plane={self.plane!r} is invalid; valid values: max, mean, "
                "best_focus or a plane index >= 0"
            )
        check_choices(self, SECTION)
        for name in (
            "nucleus_diameter_m",
            "nucleus_smoothing_m",
            "nucleus_split_depth_m",
            "cell_smoothing_m",
            "nucleus_grow_m",
            "working_pixel_size_m",
        ):
            check_range(SECTION, name, getattr(self, name), low=0, high=1e-3)
        check_range(SECTION, "nucleus_diameter_m", self.nucleus_diameter_m, low=0, low_open=True)
        check_range(SECTION, "nucleus_edge_level", self.nucleus_edge_level, low=0, high=1,
                    low_open=True, high_open=True)  # fmt: skip
        for kind in ("nucleus", "cell"):
            lo, hi = f"min_{kind}_area_m2", f"max_{kind}_area_m2"
            check_range(SECTION, lo, getattr(self, lo), low=0, high=1e-6)
            check_range(SECTION, hi, getattr(self, hi), low=getattr(self, lo), high=1e-6)

    def to_dict(self) -> dict:
        """The options as a JSON-ready dict."""
        return dataclasses.asdict(self)


def channel_roles(
    names: tuple[str, ...], cell: str | None = None, nucleus: str | None = None
) -> tuple[int | None, int | None]:
    """Indices ``(cell, nucleus)`` of the channel roles (cell None: nuclei only).

    A role given by name or index is taken as is; a role not given is recognised from dye names
    (:data:`NUCLEUS_DYES`, :data:`CELL_DYES`, case-insensitive substrings) among the other
    channels. A channel named only by its position (``ch0``, ``Channel:0``) is never guessed.
    Without a recognised cell channel the stack is nuclei-only when the nucleus channel was
    given or is the only channel.

    Raises
    ------
    ConfigError
        A given channel does not exist, the nucleus channel cannot be identified, other
        channels leave the cell channel in doubt, or a dye name fits several channels; the
        message lists the channels and the two options.
    """
    listing = ", ".join(f"{i}: {n!r}" for i, n in enumerate(names))
    cell_i = None if cell is None else _find_channel(names, cell, listing)
    if nucleus is None:
        nuc_i = _recognise(names, NUCLEUS_DYES, cell_i, "nucleus", listing)
    else:
        nuc_i = _find_channel(names, nucleus, listing)
    if nuc_i is None:
        raise ConfigError(
            f"cannot tell which channel shows the nuclei (channels {listing}); name the roles "
            f"with {_FLAGS}, by name or index"
        )
    if cell is None:
        cell_i = _recognise(names, CELL_DYES, nuc_i, "cell", listing)
        if cell_i is None and nucleus is None and len(names) > 1:
            raise ConfigError(
                f"cannot tell which channel shows the cells (channels {listing}); name it with "
                "--cell-channel ([segment] cell_channel), or give --nucleus-channel alone to "
                "segment nuclei only"
            )
    if cell_i == nuc_i:
        raise ConfigError(f"the cell and nucleus channels are the same ({names[nuc_i]!r})")
    return cell_i, nuc_i


def _find_channel(names: tuple[str, ...], wanted: str, listing: str) -> int:
    """Index of the channel named ``wanted`` (exact, then case-insensitive) or at that index."""
    for match in (lambda n: n == wanted, lambda n: n.lower() == wanted.lower()):
        hits = [i for i, n in enumerate(names) if match(n)]
        if hits:
            return hits[0]
    if re.fullmatch(r"\d+", wanted) and int(wanted) < len(names):
        return int(wanted)
    raise ConfigError(f"no channel {wanted!r} in this stack (channels {listing}); {_FLAGS}")


def _recognise(names, dyes, exclude, role, listing) -> int | None:
    """Index of the one channel (other than ``exclude``) whose name holds a dye of ``dyes``."""
    hits = [i for i, n in enumerate(names) if i != exclude and any(d in n.lower() for d in dyes)]
    if len(hits) > 1:
        raise ConfigError(
            f"several channels look like the {role} channel (channels {listing}); choose one "
            f"with {_FLAGS}"
        )
    return hits[0] if hits else None


def project(volume: np.ndarray, plane: str) -> np.ndarray:
    """Reduce one channel (Z, Y, X) to a float64 (Y, X) image.

    Parameters
    ----------
    volume : array_like, shape (Z, Y, X)
    plane : str
        ``"max"``, ``"mean"``, ``"best_focus"`` (the plane with the largest variance of the
        Laplacian) or a plane index.
    """
    vol = np.asarray(volume, dtype=np.float64)
    if plane == "max":
        return vol.max(axis=0)
    if plane == "mean":
        return vol.mean(axis=0)
    if plane == "best_focus":
        focus = [ndimage.laplace(ndimage.gaussian_filter(p, 1.0)).var() for p in vol]
        return vol[int(np.argmax(focus))]
    index = int(plane)
    if index >= vol.shape[0]:
        raise ConfigError(f"[{SECTION}] plane={index} but the stack has {vol.shape[0]} planes")
    return vol[index]


def _px(length_m: float, pixel_size_m: tuple[float, float]) -> float:
    return float(length_m / np.sqrt(pixel_size_m[0] * pixel_size_m[1]))


def segment_nuclei(
    image: np.ndarray, pixel_size_m: tuple[float, float], options: SegmentOptions
) -> np.ndarray:
    """Nucleus instance labels (int32, (Y, X), consecutive from 1) of one nucleus image."""
    smooth = filters.gaussian(image, _px(options.nucleus_smoothing_m, pixel_size_m))
    if options.nucleus_threshold == "local":
        block = 2 * round(2 * _px(options.nucleus_diameter_m, pixel_size_m)) + 1
        mask = smooth > _local_mean(smooth, (block - 1) / 6) + 0.5 * _noise(smooth)
        mask &= smooth > filters.threshold_triangle(smooth)
    else:
        method = {"otsu": filters.threshold_otsu, "li": filters.threshold_li}
        mask = smooth > method[options.nucleus_threshold](smooth)
    mask = ndimage.binary_fill_holes(ndimage.binary_opening(mask, iterations=1))
    dist = ndimage.distance_transform_edt(mask, sampling=pixel_size_m)
    labels = _refine_edges(smooth, _split(dist, mask, pixel_size_m, options), pixel_size_m,
                           options.nucleus_diameter_m, options.nucleus_edge_level)  # fmt: skip
    return _size_filter(labels, options.min_nucleus_area_m2, options.max_nucleus_area_m2,
                        pixel_size_m)  # fmt: skip


def _local_mean(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian-weighted local mean (``skimage.filters.threshold_local``, method "gaussian").

    A Gaussian wider than 16 px is applied on a grid ``f = sigma / 4`` times coarser (block
    means; their variance ``(f^2 - 1) / 12`` px^2 taken off the Gaussian) and interpolated
    back bilinearly: the same surface to ~3e-3 of the image range at a fraction of the cost.
    """
    f = int(sigma_px / 4)
    if f < 4:
        return ndimage.gaussian_filter(image, sigma_px, mode="reflect")
    rows, cols = (s // f * f for s in image.shape)
    blocks = image[:rows, :cols].reshape(rows // f, f, cols // f, f).mean(axis=(1, 3))
    sigma = np.sqrt(sigma_px**2 - (f**2 - 1) / 12) / f
    coarse = ndimage.gaussian_filter(blocks, sigma, mode="reflect")
    up_r, up_c = (_linear_weights(n, m, f) for n, m in zip(image.shape, coarse.shape, strict=True))
    return up_r @ coarse @ up_c.T


def _linear_weights(n_fine: int, n_coarse: int, f: int) -> np.ndarray:
    """(n_fine, n_coarse) linear interpolation from block centres back to pixel centres."""
    x = np.clip((np.arange(n_fine) - (f - 1) / 2) / f, 0, n_coarse - 1)
    i0 = np.minimum(np.floor(x).astype(int), n_coarse - 2)
    w = x - i0
    out = np.zeros((n_fine, n_coarse))
    out[np.arange(n_fine), i0] = 1 - w
    out[np.arange(n_fine), i0 + 1] = w
    return out


def _noise(image: np.ndarray) -> float:
    """Robust noise level: median absolute deviation of the high-pass image."""
    high = image - ndimage.uniform_filter(image, 3)
    return float(1.4826 * np.median(np.abs(high - np.median(high))))


def _split(dist, mask, pixel_size_m, options) -> np.ndarray:
    """Marker-controlled watershed of the distance map ``dist`` (m) inside ``mask``."""
    dist = ndimage.gaussian_filter(dist, 1.0)
    comps = measure.label(mask)
    deep = _deep_maxima(dist, comps, options.nucleus_split_depth_m)
    min_distance = max(1, round(_px(options.nucleus_diameter_m / 2, pixel_size_m)))
    peaks = feature.peak_local_max(
        np.where(deep, dist, 0.0), min_distance=min_distance, labels=comps, exclude_border=False
    )
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    unmarked = np.setdiff1d(np.unique(comps[mask]), comps[tuple(peaks.T)])
    for comp in unmarked:  # a component whose maxima are all flat still gets one marker
        r, c = np.unravel_index(np.argmax(np.where(comps == comp, dist, -1)), dist.shape)
        markers[r, c] = markers.max() + 1
    return segmentation.watershed(-dist, markers, mask=mask).astype(np.int32)


def _deep_maxima(dist: np.ndarray, comps: np.ndarray, depth: float) -> np.ndarray:
    """h-maxima of ``dist`` inside each component, computed on the component's bounding box.

    The smoothed distance map is ~0 between components, so no reconstruction path through
    the background reaches the ``depth`` of a maximum: the result on the component equals
    that of the whole image, at the cost of the components' area instead of the image's.
    """
    deep = np.zeros(dist.shape, dtype=bool)
    margin = 5  # > the 4-sigma reach of the 1-pixel Gaussian applied to ``dist``
    for k, box in enumerate(ndimage.find_objects(comps), start=1):
        if box is None:
            continue
        box = tuple(slice(max(0, s.start - margin), s.stop + margin) for s in box)
        deep[box] |= (morphology.h_maxima(dist[box], depth) > 0) & (comps[box] == k)
    return deep


def _refine_edges(smooth, labels, pixel_size_m, diameter_m, level) -> np.ndarray:
    """Redraw every nucleus's edge at its own intensity level.

    A threshold common to a neighbourhood draws a bright, blurred nucleus too wide (its halo
    is above it) and a dim nucleus between bright ones too narrow. Instead each nucleus keeps
    the pixels of its zone (the pixels nearer to it than to any other nucleus) within a quarter
    of ``diameter_m`` of its first outline whose smoothed intensity is above
    ``b + level (a - b)``: ``b`` the median of its zone beyond that reach (the local
    background, out to three quarters of ``diameter_m``), ``a`` the median of its inner half
    (pixels at least half its largest inscribed radius deep). ``level`` 0.5 is the
    half-maximum, the edge of a blurred step of uniform brightness (Canny, IEEE TPAMI 8, 679
    (1986)); a per-object threshold after a first detection follows Wählby et al. (J.
    Microsc. 215, 67 (2004)). Only the parts connected to the first outline are kept, holes
    filled; a nucleus whose zone has no background (packed on all sides) keeps its first
    outline.

    Parameters
    ----------
    smooth : ndarray, shape (Y, X)
        Smoothed nucleus image.
    labels : ndarray of int, shape (Y, X)
        First nucleus labels (the split threshold mask).
    pixel_size_m : tuple of float
        Pixel size (row, col) in m.
    diameter_m : float
        Smallest typical nucleus diameter (m).
    level : float
        Edge level, a fraction in (0, 1) between background and nucleus level.

    Returns
    -------
    ndarray of int32
        Labels with the same ids; a nucleus grows or shrinks by at most the reach.
    """
    reach = _px(diameter_m / 4, pixel_size_m)
    outside, nearest = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    zones = np.where(outside <= 3 * reach, labels[tuple(nearest)], 0)
    out = np.zeros_like(labels)
    for k, box in enumerate(ndimage.find_objects(zones), start=1):
        if box is not None:
            near = outside[box] <= reach
            zone, first = zones[box] == k, labels[box] == k
            out[box][_own_outline(smooth[box], zone & near, first, zone & ~near, level)] = k
    return out.astype(np.int32)


def _own_outline(image, reach, first, ring, level) -> np.ndarray:
    """One nucleus's pixels of ``reach`` above its own edge level (see :func:`_refine_edges`);
    ``first`` unchanged when ``ring`` (its background) is empty or not darker than it."""
    if not ring.any() or not first.any():
        return first
    depth = ndimage.distance_transform_edt(first)
    b, a = np.median(image[ring]), np.median(image[first & (depth >= depth.max() / 2)])
    if a <= b:
        return first
    above = reach & (image > b + level * (a - b))
    parts, _ = ndimage.label(above)
    keep = np.isin(parts, parts[first & above])
    if not keep.any():
        return first
    return ndimage.binary_fill_holes(keep)


def _size_filter(labels, min_m2, max_m2, pixel_size_m) -> np.ndarray:
    """Remove objects outside ``[min_m2, max_m2]``; relabel consecutively from 1."""
    areas = np.bincount(labels.ravel()) * pixel_size_m[0] * pixel_size_m[1]
    keep = (areas >= min_m2) & (areas <= max_m2)
    keep[0] = False
    lut = np.zeros(areas.size, np.int32)
    lut[keep] = np.arange(1, keep.sum() + 1)
    return lut[labels]


def segment_cells(
    image: np.ndarray, nuclei: np.ndarray, pixel_size_m: tuple[float, float], options
) -> tuple[np.ndarray, np.ndarray]:
    """Cell labels seeded by ``nuclei`` on the cell image; returns ``(cells, nuclei)``.

    Both (Y, X) int32; a nucleus carries its cell's id; cells without a nucleus follow.
    """
    smooth = filters.gaussian(image, _px(options.cell_smoothing_m, pixel_size_m))
    method = {
        "otsu": filters.threshold_otsu,
        "li": filters.threshold_li,
        "triangle": filters.threshold_triangle,
    }[options.cell_threshold]
    mask = ndimage.binary_fill_holes((smooth > method(smooth)) | (nuclei > 0))
    cells = segmentation.watershed(-smooth, nuclei, mask=mask)
    orphans = measure.label(mask & (cells == 0))
    cells = np.where(orphans > 0, orphans + nuclei.max(), cells)
    return _consistent(cells, nuclei, options, pixel_size_m)


def _consistent(cells, nuclei, options, pixel_size_m) -> tuple[np.ndarray, np.ndarray]:
    """Apply the cell area limits, drop nuclei of removed cells, relabel consecutively."""
    areas = np.bincount(cells.ravel()) * pixel_size_m[0] * pixel_size_m[1]
    keep = (areas >= options.min_cell_area_m2) & (areas <= options.max_cell_area_m2)
    keep[0] = False
    lut = np.zeros(areas.size, np.int32)
    lut[keep] = np.arange(1, keep.sum() + 1)
    cells = lut[cells]
    nuclei = np.where(cells > 0, lut[np.clip(nuclei, 0, areas.size - 1)], 0)
    return cells.astype(np.int32), nuclei.astype(np.int32)


def working_step(pixel_size_m, working_pixel_size_m: float) -> int:
    """Integer block size bringing the pixel pitch up to at most ``working_pixel_size_m``
    (1 for images at or coarser than it): nuclei and cells are many working pixels wide, so
    segmenting oversampled images at that pitch loses nothing but time."""
    return max(1, int(working_pixel_size_m / max(pixel_size_m)))


def block_mean(image: np.ndarray, step: int) -> np.ndarray:
    """Mean over ``step`` x ``step`` blocks (edge-padded to whole blocks), shape
    ``ceil(Y / step), ceil(X / step)``."""
    if step == 1:
        return image
    rows, cols = image.shape
    pad = ((0, -rows % step), (0, -cols % step))
    padded = np.pad(np.asarray(image, np.float64), pad, mode="edge")
    return padded.reshape(padded.shape[0] // step, step, -1, step).mean(axis=(1, 3))


def upsample(labels: np.ndarray, step: int, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour upsampling of working-pitch labels back to ``shape``."""
    if step == 1:
        return labels
    return np.repeat(np.repeat(labels, step, axis=0), step, axis=1)[: shape[0], : shape[1]]


def segment(stack: FluorescenceStack, options: SegmentOptions | None = None) -> Segmentation:
    """Segment cells and nuclei of a fluorescence stack.

    Parameters
    ----------
    stack : FluorescenceStack
        (C, Z, Y, X) stack with its pixel size in m.
    options : SegmentOptions, optional
        Channel roles, plane, lengths (m) and area limits (m²); defaults when omitted.

    Returns
    -------
    Segmentation
        Cell and nucleus labels (Y, X) on the stack's pixel grid; ``method`` is
        ``"watershed"`` (cells from the cell channel) or ``"nuclei_grown"`` (no cell channel);
        ``parameters`` holds the options and the plane used.

    Raises
    ------
    ConfigError
        The channel roles cannot be identified (see :func:`channel_roles`) or an option is
        invalid for this stack.
    """
    options = options or SegmentOptions()
    names = stack.channel_names
    cell_i, nuc_i = channel_roles(names, options.cell_channel, options.nucleus_channel)
    step = working_step(stack.pixel_size_m, options.working_pixel_size_m)
    px = tuple(v * step for v in stack.pixel_size_m)
    shape = stack.shape[2:]
    nuclei = segment_nuclei(block_mean(project(stack.data[nuc_i], options.plane), step), px,
                            options)  # fmt: skip
    if cell_i is None:
        grown = segmentation.expand_labels(nuclei, _px(options.nucleus_grow_m, px))
        cells, nuclei = _consistent(grown, nuclei, options, px)
        method = "nuclei_grown"
    else:
        cell_image = block_mean(project(stack.data[cell_i], options.plane), step)
        cells, nuclei = segment_cells(cell_image, nuclei, px, options)
        method = "watershed"
    cells, nuclei = upsample(cells, step, shape), upsample(nuclei, step, shape)
    origin = stack.stage_position_m
    if origin is None or not np.all(np.isfinite(origin)):
        origin = (0.0, 0.0)
    return Segmentation(
        cell_labels=cells,
        nucleus_labels=nuclei,
        pixel_size_m=stack.pixel_size_m,
        origin_m=origin,
        method=method,
        cell_channel=None if cell_i is None else names[cell_i],
        nucleus_channel=names[nuc_i],
        parameters=options.to_dict(),
        source=str(stack.source),
    )
