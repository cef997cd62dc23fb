"""Random access to the members of a zip archive (JPK files are zip files) through ``os.pread``.

The central directory is parsed with NumPy (ZIP64 too, PKWARE APPNOTE 4.3); members are
inflated with libdeflate and checked against their stated size and CRC-32.
"""

from __future__ import annotations

import os
import re
import struct
import weakref
import zipfile
from pathlib import Path

import deflate
import numpy as np

from cellmech.errors import CorruptFileError

__all__ = ["Archive"]

_EOCD = struct.Struct("<IHHHHIIH")  # end of central directory record
_EOCD64_LOCATOR = struct.Struct("<IIQI")
_EOCD64 = struct.Struct("<IQHHIIQQQQ")
#: central directory file header (46 bytes before the name), the fields used
_CENTRAL = np.dtype(
    {
        "names": [
            "sig",
            "flags",
            "method",
            "crc",
            "csize",
            "usize",
            "n_name",
            "n_extra",
            "n_comment",
            "offset",
        ],
        "formats": ["<u4", "<u2", "<u2", "<u4", "<u4", "<u4", "<u2", "<u2", "<u2", "<u4"],
        "offsets": [0, 8, 10, 16, 20, 24, 28, 30, 32, 42],
        "itemsize": 46,
    }
)
_LOCAL_SIZE = 30  # local file header, without name and extra field
_SLACK = 256  # bytes read past the name for the local extra field, saving a second pread
_CENTRAL_SIG = re.compile(b"PK\x01\x02")


def _end_record(fd: int, path: Path) -> tuple[int, int, int]:
    """``(members, central directory size, its offset)`` from the end-of-central-directory
    record, ZIP64 too (PKWARE APPNOTE 4.3.14-4.3.16)."""
    end = os.fstat(fd).st_size
    tail = os.pread(fd, min(end, 65557), max(0, end - 65557))
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        raise CorruptFileError(
            f"{path}: no zip end-of-central-directory record; the file is truncated or not "
            "a JPK archive"
        )
    _, _, _, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        loc = tail[at - _EOCD64_LOCATOR.size : at]
        if len(loc) != _EOCD64_LOCATOR.size or loc[:4] != b"PK\x06\x07":
            raise CorruptFileError(f"{path}: broken ZIP64 end-of-central-directory locator")
        rec = os.pread(fd, _EOCD64.size, _EOCD64_LOCATOR.unpack(loc)[2])
        if len(rec) != _EOCD64.size or rec[:4] != b"PK\x06\x06":
            raise CorruptFileError(f"{path}: broken ZIP64 end-of-central-directory record")
        count, cd_size, cd_offset = _EOCD64.unpack(rec)[7:10]
    return count, cd_size, cd_offset


def _entry_headers(cd: bytes, count: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Byte positions and contents (:func:`_headers`) of the ``count`` file headers of
    central directory ``cd``.

    Every header starts with the signature ``PK\\x01\\x02`` and the next one follows its
    name, extra field and comment: the signature's occurrences are found in one search and
    checked to form that chain (vectorised); only when a name or extra field holds the
    signature's bytes is the chain followed header by header.
    """
    cand = np.array([m.start() for m in _CENTRAL_SIG.finditer(cd)], dtype=np.int64)
    cand = cand[cand + _CENTRAL.itemsize <= len(cd)]
    head = _headers(cd, cand)
    nxt = cand + _CENTRAL.itemsize + head["n_name"] + head["n_extra"] + head["n_comment"]
    if cand.size == count and (count == 0 or cand[0] == 0) and np.array_equal(nxt[:-1], cand[1:]):
        return cand, head
    where = dict(zip(cand.tolist(), range(cand.size), strict=True))
    keep, pos = [], 0
    for _ in range(count):
        if pos not in where:
            raise CorruptFileError(f"{path}: corrupt zip central directory at byte {pos}")
        keep.append(where[pos])
        pos = int(nxt[keep[-1]])
    return cand[keep], head[keep]


def _headers(cd: bytes, starts: np.ndarray) -> np.ndarray:
    """The central-directory file headers at ``starts`` as a structured array."""
    raw = np.frombuffer(cd, np.uint8)[starts[:, None] + np.arange(_CENTRAL.itemsize)]
    return raw.view(_CENTRAL)[:, 0]


def _central_directory(fd: int, path: Path) -> dict[str, tuple[int, int, int, int, int, int]]:
    """Member name -> (local header offset, compressed size, size, method, CRC-32, flags).

    Parses the central directory (PKWARE APPNOTE 4.3.12) in one read, with NumPy: much
    faster than ``zipfile`` on archives with tens of thousands of members.
    """
    count, cd_size, cd_offset = _end_record(fd, path)
    cd = os.pread(fd, cd_size, cd_offset)
    if len(cd) != cd_size:
        raise CorruptFileError(f"{path}: the zip central directory is truncated")
    starts, head = _entry_headers(cd, count, path)
    text = cd.decode("latin-1")  # one decode; names are sliced from it
    first = (starts + _CENTRAL.itemsize).tolist()
    last = (starts + _CENTRAL.itemsize + head["n_name"]).tolist()
    names = [text[a:b] for a, b in zip(first, last, strict=True)]
    columns = ("offset", "csize", "usize", "method", "crc", "flags")
    values = zip(*(head[c].tolist() for c in columns), strict=True)
    zip64 = any((head[c] == 0xFFFFFFFF).any() for c in ("offset", "csize", "usize"))
    if text.isascii() and not zip64:
        return dict(zip(names, values, strict=True))
    entries = {}
    for i, (offset, csize, usize, method, crc, flags) in enumerate(values):
        name = names[i]
        if not name.isascii():
            name = cd[first[i] : last[i]].decode("utf-8" if flags & 0x800 else "cp437")
        if 0xFFFFFFFF in (csize, usize, offset):
            extra = cd[last[i] : last[i] + int(head["n_extra"][i])]
            usize, csize, offset = _zip64_sizes(extra, usize, csize, offset)
        entries[name] = (offset, csize, usize, method, crc, flags)
    return entries


def _zip64_sizes(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Sizes and offset from the ZIP64 extended-information extra field (id 0x0001)."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            values = iter(struct.unpack_from(f"<{size // 8}Q", extra, pos + 4))
            usize = next(values) if usize == 0xFFFFFFFF else usize
            csize = next(values) if csize == 0xFFFFFFFF else csize
            offset = next(values) if offset == 0xFFFFFFFF else offset
            break
        pos += 4 + size
    return usize, csize, offset


class Archive:
    """Random access to the members of a zip file through ``os.pread``.

    One file descriptor serves every thread (``pread`` has no shared file position), so
    blocks decode in parallel without a ``ZipFile`` per thread; the central directory is
    parsed once. Members must be stored or deflated (what JPK software writes); sizes and
    CRC-32 are checked.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise CorruptFileError(f"{path}: cannot open ({exc})") from exc
        weakref.finalize(self, os.close, self.fd)
        self.entries = _central_directory(self.fd, path)

    def size(self, name: str) -> int:
        """Uncompressed size of member ``name`` in bytes."""
        return self.entries[name][2]

    def read(self, name: str, max_size: int | None = None) -> bytes | bytearray:
        """The uncompressed bytes of member ``name`` (one ``pread`` in the usual case).

        A member whose stated size exceeds ``max_size`` bytes is refused before anything is
        inflated (CorruptFileError): a hostile archive cannot make it allocate more.
        """
        offset, csize, usize, method, crc, flags = self.entries[name]
        if max_size is not None and usize > max_size:
            raise CorruptFileError(
                f"{self.path}: member {name!r} states {usize} bytes, more than the "
                f"{max_size} it may hold; the file is corrupt or hostile"
            )
        if flags & 1 or method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CorruptFileError(
                f"{self.path}: member {name!r} is encrypted or uses compression {method}; "
                "re-export it with the JPK software"
            )
        buf = os.pread(self.fd, _LOCAL_SIZE + len(name) + _SLACK + csize, offset)
        if len(buf) < _LOCAL_SIZE or buf[:4] != b"PK\x03\x04":
            raise CorruptFileError(
                f"{self.path}: member {name!r} has no local header; the file is corrupt"
            )
        n_name, n_extra = struct.unpack_from("<HH", buf, 26)
        start = _LOCAL_SIZE + n_name + n_extra
        data = memoryview(buf)[start : start + csize]
        if len(data) < csize:
            data = os.pread(self.fd, csize, offset + start)
        try:
            if method == zipfile.ZIP_DEFLATED:
                data = deflate.deflate_decompress(data, usize)  # exactly usize bytes or error
        except deflate.DeflateError as exc:
            raise CorruptFileError(
                f"{self.path}: member {name!r} does not inflate to its stated size ({exc})"
            ) from exc
        if len(data) != usize or deflate.crc32(data) != crc:
            raise CorruptFileError(
                f"{self.path}: member {name!r} is truncated or corrupt (size/CRC mismatch)"
            )
        return bytes(data) if isinstance(data, memoryview) else data
