"""Deterministic mutations of JPK archives and other input files, for the reliability tests.

Every function writes a new file and leaves its source untouched (the shared real files are
read-only).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["flip_byte", "make_readonly", "release", "rewrite_zip", "set_property", "truncate"]

#: ``edit(name, data)`` -> new bytes, or None to drop the member
MemberEdit = Callable[[str, bytes], bytes | None]


def rewrite_zip(src: Path, dst: Path, edit: MemberEdit, extra: dict | None = None) -> Path:
    """Copy zip ``src`` to ``dst`` passing every member through ``edit``; ``extra`` members
    (name -> bytes) are appended. Compression is kept per member."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data, compress_type=info.compress_type)
        for name, data in (extra or {}).items():
            zout.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return dst


def set_property(data: bytes, key: str, value: str | None) -> bytes:
    """``data`` (a Java .properties document) with ``key`` set to ``value`` (appended when
    absent) or removed (``value`` None)."""
    text = data.decode("latin-1")
    pattern = re.compile(rf"^{re.escape(key)}[ \t]*[=:][^\n]*\n?", re.M)
    text = pattern.sub("", text)
    if value is not None:
        text = text.rstrip("\n") + f"\n{key}={value}\n"
    return text.encode("latin-1")


def edit_member(member: str, key: str, value: str | None) -> MemberEdit:
    """An edit setting ``key`` in the properties member ``member`` (other members unchanged)."""

    def edit(name: str, data: bytes) -> bytes | None:
        return set_property(data, key, value) if name == member else data

    return edit


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    """The first ``fraction`` of ``src``'s bytes."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def flip_byte(src: Path, dst: Path, offset: int) -> Path:
    """``src`` with the byte at ``offset`` inverted."""
    data = bytearray(src.read_bytes())
    data[offset] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def _chattr(flag: str, path: Path) -> bool:
    tool = shutil.which("chattr")
    done = tool and subprocess.run([tool, flag, str(path)], capture_output=True, check=False)
    return bool(done) and done.returncode == 0


def make_readonly(path: Path) -> None:
    """Make the folder ``path`` read-only, for root too (immutable via ``chattr +i``: root
    ignores permission bits). Raises RuntimeError when root cannot make it immutable."""
    path.chmod(0o555)
    if os.geteuid() == 0 and not _chattr("+i", path):
        raise RuntimeError(f"cannot make {path} read-only for root (chattr +i failed)")


def release(tree: Path) -> None:
    """Undo :func:`make_readonly` everywhere below ``tree`` so it can be removed."""
    folders = [tree, *(p for p in tree.rglob("*") if p.is_dir() and not p.is_symlink())]
    for folder in folders:
        if folder.stat().st_mode & 0o777 == 0o555:
            if os.geteuid() == 0:
                _chattr("-i", folder)
            folder.chmod(0o755)
