"""Raw latencies as stored: zlib-compressed little-endian int64, whatever the host's byte order."""

from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Sequence

from reef.errors import ReefError

DTYPE = "int64"

# The standard library's array avoids importing numpy just to open the store.
_CODE = "q"
assert array(_CODE).itemsize == 8, "array('q') must be 8 bytes"


def pack(values: Sequence[int]) -> bytes:
    """Raises OverflowError if a value does not fit in an int64."""
    data = array(_CODE, values)
    if sys.byteorder == "big":
        data.byteswap()
    return zlib.compress(data.tobytes())


def unpack(blob: bytes, count: int, dtype: str, run_id: str) -> list[int]:
    if dtype != DTYPE:
        raise ReefError(f"run {run_id}: latencies stored as {dtype!r}, expected {DTYPE!r}")
    data = array(_CODE)
    try:
        data.frombytes(zlib.decompress(blob))
    except (zlib.error, ValueError) as exc:
        raise ReefError(f"run {run_id}: stored latencies are corrupt ({exc})") from exc
    if len(data) != count:
        raise ReefError(f"run {run_id}: {len(data)} latencies stored, the row says {count}")
    if sys.byteorder == "big":
        data.byteswap()
    return data.tolist()
