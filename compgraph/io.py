"""Checkpoints: ``save(obj, path)`` and ``load(path)``.

What can be saved
-----------------
A tensor, a NumPy array, a NumPy scalar, a JSON scalar (``str``, ``int``,
``float``, ``bool``, ``None``), or any nesting of ``dict``, ``list`` and
``tuple`` over those -- for example a model's ``state_dict()`` (name -> tensor)
or an optimizer's ``state_dict()`` (nested dicts and lists of ints, floats and
arrays). Dict keys may be ``str``, ``int``, ``float``, ``bool`` or ``None`` and
keep their type. Object arrays are refused: nothing is ever pickled.

File format (``compgraph-checkpoint/1``)
----------------------------------------
The file is an ordinary NumPy ``.npz`` archive (an uncompressed zip of
``.npy`` files), readable with nothing but ``numpy`` and ``json``::

    import json, numpy as np
    with np.load("model.ckpt", allow_pickle=False) as z:
        header = json.loads(z["__header__"].tobytes().decode("utf-8"))
        arrays = {name: z[name] for name in z.files if name != "__header__"}

Entries:

* ``a0``, ``a1``, ... -- the arrays, in the order they were met while walking
  the object depth-first (dict items in insertion order).
* ``__header__`` -- a 1-d ``uint8`` array holding a UTF-8 JSON document::

      {"format": "compgraph-checkpoint/1",
       "arrays": [{"key": "a0", "kind": "tensor", "requires_grad": true,
                   "dtype": "<f4", "shape": [3, 2]}, ...],
       "root": <node>}

  ``kind`` is ``"tensor"`` (saved from a compgraph Tensor), ``"array"`` (a
  NumPy array) or ``"scalar"`` (a NumPy scalar such as ``np.float32(1)``,
  stored as a 0-d array). ``requires_grad`` is present for tensors only.
  ``dtype`` is NumPy's ``dtype.str`` and ``shape`` a list of ints; both are
  checked on load.

  A ``<node>`` is either a plain JSON scalar (string, number, true/false,
  null; Python's ``json`` spells non-finite floats ``NaN``/``Infinity``), or a
  JSON object tagged by ``"type"``:

  * ``{"type": "array", "index": i}`` -- the array described by ``arrays[i]``;
  * ``{"type": "list", "items": [<node>, ...]}``;
  * ``{"type": "tuple", "items": [<node>, ...]}``;
  * ``{"type": "dict", "items": [[<key>, <node>], ...]}`` -- a list of pairs
    rather than a JSON object so that non-string keys and order survive.

Loading gives back the same structure; tensors come back as compgraph Tensors
(``requires_grad`` restored) and arrays as ``numpy.ndarray``.

Safety
------
``save`` writes to a temporary file in the target's directory, flushes and
fsyncs it, then ``os.replace``\\ s it over the target, so a crash mid-write
leaves the previous checkpoint intact. ``load`` never unpickles and raises
:class:`CheckpointError` (a ``ValueError``) naming the file and the problem
for anything damaged or foreign, and :class:`~compgraph.errors.MissingFileError`
(a ``FileNotFoundError``) for a file, or a folder to save into, that does not
exist.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile

import numpy as np

from compgraph.errors import ArgumentError, CheckpointError, MissingFileError, PathIsFolderError

__all__ = ["save", "load", "read", "CheckpointError", "FORMAT", "atomic_write"]

FORMAT = "compgraph-checkpoint/1"
HEADER_KEY = "__header__"

_JSON_SCALARS = (str, int, float, bool, type(None))


# --------------------------------------------------------------------------
# Atomic file writing (also used by compgraph.data for downloads and IDX).
# --------------------------------------------------------------------------


def _current_umask() -> int:
    # os.umask can only be read by setting it; done once, at import time, so
    # there is no window in which another thread creates files with mask 0.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file next to ``path``; on success, move it over ``path``.

    The body of the ``with`` block writes to the yielded file object. If the
    block finishes normally, the data is flushed and fsynced and the temporary
    file atomically replaces ``path``. If the block raises (or the process
    dies), ``path`` is untouched and the temporary file is removed (or, on a
    hard crash, left as a hidden ``.<name>.*.tmp`` file, never as ``path``).
    """
    path = os.fspath(path)
    if os.path.islink(path):
        # os.replace would swap the link itself for a file, leaving what it
        # points at stale; write where the link points instead.
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        # mkstemp's own error would name the hidden temporary file, which the
        # user never asked for; the folder is what they can fix.
        what = "is not a folder" if os.path.exists(directory) else "does not exist"
        raise MissingFileError(
            f"cannot write {path}: the folder {directory} {what}; create it first "
            f"(e.g. mkdir -p {directory}) or choose another path")
    if os.path.isdir(path):
        raise PathIsFolderError(f"cannot write {path}: it is a folder; give a file name")
    fd, tmp_path = tempfile.mkstemp(
        dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates files with mode 0600; give the result the mode a
        # plain open() would have (or keep the mode of the file it replaces).
        try:
            new_mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            new_mode = 0o666 & ~_UMASK
        os.chmod(tmp_path, new_mode)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable on POSIX; not possible (nor needed) on
    # Windows, where opening a directory fails.
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# --------------------------------------------------------------------------
# Tensor interop (the engine is imported lazily: it may not exist yet).
# --------------------------------------------------------------------------


def _is_tensor(x) -> bool:
    return type(x).__name__ == "Tensor" or (
        hasattr(x, "_value") and hasattr(x, "requires_grad")
    )


def _tensor_to_numpy(t) -> np.ndarray:
    value = t._value
    if not isinstance(value, np.ndarray) and hasattr(value, "get"):
        value = value.get()  # a CuPy array: copy it to host memory
    return np.asarray(value)


def _make_tensor(arr: np.ndarray, requires_grad: bool):
    """Wrap ``arr`` in a compgraph Tensor, or return it as is if there is no engine."""
    try:
        from compgraph.tensor import from_numpy
    except ImportError:
        return arr
    tensor = from_numpy(arr)
    tensor.requires_grad = bool(requires_grad)
    return tensor


# --------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------


def _encode(obj, arrays: list, specs: list, where: str):
    """Return the JSON node for ``obj``, appending its arrays to ``arrays``."""
    if isinstance(obj, _JSON_SCALARS):
        return _plain_scalar(obj)
    if _is_tensor(obj):
        return _add_array(_tensor_to_numpy(obj), "tensor", arrays, specs, where,
                          requires_grad=bool(obj.requires_grad))
    if isinstance(obj, np.ndarray):
        return _add_array(obj, "array", arrays, specs, where)
    if isinstance(obj, np.generic):
        return _add_array(np.asarray(obj), "scalar", arrays, specs, where)
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not isinstance(key, _JSON_SCALARS):
                raise ArgumentError(
                    f"checkpoint: dict key {key!r} at {where} has type "
                    f"{type(key).__name__}; keys must be str, int, float, bool or None"
                )
            items.append([_plain_scalar(key), _encode(value, arrays, specs, f"{where}[{key!r}]")])
        return {"type": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {
            "type": kind,
            "items": [_encode(v, arrays, specs, f"{where}[{i}]") for i, v in enumerate(obj)],
        }
    raise ArgumentError(
        f"checkpoint: cannot save value of type {type(obj).__name__} at {where}; "
        "supported: Tensor, numpy array/scalar, str, int, float, bool, None, "
        "and dicts/lists/tuples of those"
    )


def _plain_scalar(obj):
    # Subclasses (np.str_, np.float64, IntEnum, ...) become the plain type,
    # which is what load() gives back. bool comes first: it subclasses int
    # but is its own JSON type.
    for plain in (bool, int, float, str):
        if isinstance(obj, plain):
            return plain(obj)
    return obj  # None


def _add_array(arr: np.ndarray, kind: str, arrays: list, specs: list, where: str,
               requires_grad: bool | None = None) -> dict:
    if arr.dtype.hasobject:
        raise ArgumentError(
            f"checkpoint: array at {where} has dtype {arr.dtype} (Python objects); "
            "such arrays would need pickle, which checkpoints never use"
        )
    index = len(arrays)
    spec = {"key": f"a{index}", "kind": kind, "dtype": arr.dtype.str, "shape": list(arr.shape)}
    if requires_grad is not None:
        spec["requires_grad"] = requires_grad
    arrays.append(arr)
    specs.append(spec)
    return {"type": "array", "index": index}


def save(obj, path) -> None:
    """Write ``obj`` to ``path`` as a ``compgraph-checkpoint/1`` file, atomically.

    ``path`` is used exactly as given (no ``.npz`` suffix is added). Raises
    ``ArgumentError`` (a ``TypeError``) naming the offending location for
    unsupported values, before anything is written.
    """
    arrays: list[np.ndarray] = []
    specs: list[dict] = []
    root = _encode(obj, arrays, specs, "<root>")
    header = {"format": FORMAT, "arrays": specs, "root": root}
    header_bytes = json.dumps(header, ensure_ascii=False).encode("utf-8")

    with atomic_write(path) as f:
        # Written with zipfile directly (what np.savez does) so that
        # allow_pickle=False can be passed for every entry.
        with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for spec, arr in zip(specs, arrays):
                _write_entry(zf, spec["key"], arr)
            _write_entry(zf, HEADER_KEY, np.frombuffer(header_bytes, dtype=np.uint8))


def _write_entry(zf: zipfile.ZipFile, key: str, arr: np.ndarray) -> None:
    # force_zip64: entry sizes are unknown up front and may exceed 2 GiB.
    with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
        np.lib.format.write_array(member, np.asarray(arr), allow_pickle=False)


# --------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------


def load(path):
    """Read a checkpoint written by :func:`save` and rebuild the object.

    Raises :class:`CheckpointError` naming ``path`` if the file is truncated,
    not a zip archive, lacks the header, has another format/version, or its
    header and arrays disagree.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise MissingFileError(f"checkpoint {path!r} does not exist")
    if os.path.isdir(path):
        raise PathIsFolderError(f"checkpoint {path!r} is a folder, not a checkpoint file")
    return read(path, path)


def read(file, path):
    """load() for an open binary file (or a path); `path` names it in messages."""
    if not zipfile.is_zipfile(file):
        raise CheckpointError(
            f"checkpoint {path!r} is not a zip/.npz archive (truncated, or not a "
            f"{FORMAT} file)"
        )
    try:
        _check_crcs(file)
        if hasattr(file, "seek"):
            file.seek(0)
        with np.load(file, allow_pickle=False) as archive:
            header = _read_header(archive, path)
            arrays = _read_arrays(archive, header, path)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise CheckpointError(f"checkpoint {path!r} is damaged: {exc}") from exc
    return _decode(header["root"], arrays, header["arrays"], path)


def _check_crcs(file) -> None:
    # np.load stops reading an entry once it has the array's bytes, before
    # zipfile gets to compare the CRC, so a flipped bit would load as a wrong
    # number without this full pass.
    path = file if isinstance(file, (str, os.PathLike)) else getattr(file, "name", "<file object>")
    with zipfile.ZipFile(file) as zf:
        bad = zf.testzip()
    if bad is not None:
        raise CheckpointError(
            f"checkpoint {path!r} is damaged: entry {bad!r} fails its CRC-32 check "
            "(the bytes on disk are not the ones that were saved)")


def _read_header(archive, path: str) -> dict:
    if HEADER_KEY not in archive.files:
        raise CheckpointError(
            f"checkpoint {path!r} has no {HEADER_KEY!r} entry (not a {FORMAT} file; "
            f"entries: {sorted(archive.files)[:10]})"
        )
    raw = archive[HEADER_KEY]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(
            f"checkpoint {path!r}: {HEADER_KEY!r} must be a 1-d uint8 array, "
            f"found dtype {raw.dtype} with shape {raw.shape}"
        )
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"checkpoint {path!r}: header is not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"checkpoint {path!r}: header must be a JSON object")
    found = header.get("format")
    if found != FORMAT:
        raise CheckpointError(
            f"checkpoint {path!r} has format {found!r}; this version of compgraph reads {FORMAT!r}"
        )
    if not isinstance(header.get("arrays"), list) or "root" not in header:
        raise CheckpointError(f"checkpoint {path!r}: header lacks 'arrays' list or 'root'")
    return header


def _read_arrays(archive, header: dict, path: str) -> list:
    arrays = []
    for i, spec in enumerate(header["arrays"]):
        if not isinstance(spec, dict) or not isinstance(spec.get("key"), str):
            raise CheckpointError(f"checkpoint {path!r}: header entry arrays[{i}] is malformed: {spec!r}")
        key = spec["key"]
        if key not in archive.files:
            raise CheckpointError(
                f"checkpoint {path!r}: header refers to array {key!r}, which is missing "
                "from the archive"
            )
        arr = archive[key]
        if arr.dtype.str != spec.get("dtype") or list(arr.shape) != spec.get("shape"):
            raise CheckpointError(
                f"checkpoint {path!r}: array {key!r} is {arr.dtype.str} {list(arr.shape)} "
                f"but the header says {spec.get('dtype')} {spec.get('shape')}"
            )
        arrays.append(arr)
    return arrays


def _decode(node, arrays: list, specs: list, path: str):
    if isinstance(node, _JSON_SCALARS):
        return node
    if not isinstance(node, dict):
        raise CheckpointError(f"checkpoint {path!r}: unexpected header node {node!r}")
    kind = node.get("type")
    if kind == "array":
        index = node.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(arrays):
            raise CheckpointError(
                f"checkpoint {path!r}: header points at array index {index!r}, but the "
                f"file holds {len(arrays)} arrays"
            )
        return _restore_array(arrays[index], specs[index], path)
    if kind in ("list", "tuple"):
        items = [_decode(item, arrays, specs, path) for item in _items(node, path)]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        result = {}
        for pair in _items(node, path):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise CheckpointError(f"checkpoint {path!r}: malformed dict item {pair!r}")
            result[pair[0]] = _decode(pair[1], arrays, specs, path)
        return result
    raise CheckpointError(f"checkpoint {path!r}: unknown node type {kind!r} in header")


def _items(node: dict, path: str) -> list:
    items = node.get("items")
    if not isinstance(items, list):
        raise CheckpointError(f"checkpoint {path!r}: {node.get('type')} node without an 'items' list")
    return items


def _restore_array(arr: np.ndarray, spec: dict, path: str):
    kind = spec.get("kind")
    if kind == "array":
        return arr
    if kind == "scalar":
        return arr[()]
    if kind == "tensor":
        return _make_tensor(arr, spec.get("requires_grad", False))
    raise CheckpointError(f"checkpoint {path!r}: array {spec.get('key')!r} has unknown kind {kind!r}")
