"""Reading and writing IDX files, the format MNIST and Fashion-MNIST ship in.

An IDX file is::

    byte 0-1   0x00 0x00
    byte 2     type code (see ``TYPE_CODES``)
    byte 3     number of dimensions, ndim
    4*ndim     each dimension as a big-endian uint32
    ...        the data, row-major, multi-byte types big-endian

Files may be gzip-compressed; that is detected from the gzip magic bytes
(``1f 8b``), not from the file name, because the same files circulate both
compressed and not under either kind of name.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from compgraph.errors import ArgumentValueError, DataError, MissingFileError, PathIsFolderError
from compgraph.io import atomic_write

__all__ = ["read_idx", "write_idx", "DataError", "TYPE_CODES"]

# IDX type code -> NumPy element type (byte order is applied separately).
TYPE_CODES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(np.int16),
    0x0C: np.dtype(np.int32),
    0x0D: np.dtype(np.float32),
    0x0E: np.dtype(np.float64),
}
_CODE_FOR_KIND = {(dt.kind, dt.itemsize): code for code, dt in TYPE_CODES.items()}

_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzipped or raw) into a native-byte-order array.

    Raises :class:`DataError` naming the file if the header is invalid, the
    gzip stream is corrupt, or the size does not match the header.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise PathIsFolderError(f"{path}: is a folder, not an IDX file")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise MissingFileError(f"{path}: no such IDX file") from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupted gzip data ({exc})") from exc
    return _parse(data, path)


def _parse(data: bytes, path: str) -> np.ndarray:
    if len(data) < 4:
        raise DataError(
            f"{path}: too short for an IDX header: expected at least 4 bytes, found {len(data)}"
        )
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise DataError(
            f"{path}: bad IDX magic number: expected first two bytes 00 00, "
            f"found {data[:4].hex(' ')}"
        )
    if code not in TYPE_CODES:
        known = ", ".join(f"0x{c:02X}" for c in TYPE_CODES)
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{path}: truncated IDX header: {ndim} dimensions need {header_size} bytes, "
            f"found {len(data)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = TYPE_CODES[code]
    expected = header_size + math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "over-long"
        raise DataError(
            f"{path}: {problem} IDX file: header says {dtype.name} of shape {shape}, "
            f"so expected {expected} bytes (uncompressed), found {len(data)}"
        )
    big_endian = np.frombuffer(data, dtype=dtype.newbyteorder(">"), offset=header_size)
    # astype copies into native order and gives a writable array (frombuffer
    # over bytes is read-only).
    return big_endian.astype(dtype, copy=True).reshape(shape)


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file, gzipped if ``path`` ends in ``.gz``; atomically.

    The dtype must be one IDX can hold: uint8, int8, int16, int32, float32,
    float64.
    """
    path = os.fspath(path)
    array = np.asarray(array)
    code = _CODE_FOR_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise ArgumentValueError(
            f"write_idx({path!r}): dtype {array.dtype} cannot be stored in IDX "
            "(supported: uint8, int8, int16, int32, float32, float64)"
        )
    if array.ndim > 255:
        raise ArgumentValueError(f"write_idx({path!r}): IDX holds at most 255 dimensions, got {array.ndim}")
    if any(d >= 2**32 for d in array.shape):
        raise ArgumentValueError(f"write_idx({path!r}): dimension too large for IDX: {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body = np.ascontiguousarray(array, dtype=TYPE_CODES[code].newbyteorder(">")).tobytes()
    payload = header + body
    if path.endswith(".gz"):
        # mtime=0 keeps the output byte-for-byte reproducible.
        payload = gzip.compress(payload, mtime=0)
    with atomic_write(path) as f:
        f.write(payload)
