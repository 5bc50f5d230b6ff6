"""MNIST and Fashion-MNIST: find them locally, or download and verify them.

``load_dataset(name, split, data_dir=DIR)`` loads from ``DIR`` and nowhere
else: a folder the caller named that is missing or holds damaged files is an
error naming it, never a reason to quietly train on another copy.

Without ``data_dir``, ``load_dataset(name, split)`` tries these sources in
order and reports each attempt (to stderr, or to a ``log`` callable):

1. the cache: ``cache_dir(name)``, i.e. ``$COMPGRAPH_DATA/<name>`` if
   ``COMPGRAPH_DATA`` is set, else ``$XDG_CACHE_HOME/compgraph/<name>``
   (``~/.cache/compgraph/<name>`` by default);
2. for Fashion-MNIST, the files of Debian's ``dataset-fashion-mnist`` package
   (``SYSTEM_DIRS``);
3. a download from the dataset's official mirrors (``MIRRORS``), each file
   checked against a known SHA-256 (``SHA256``) before it is moved into the
   cache. A file with no known digest is never downloaded.

In a directory, each file may be gzipped (``name.gz``) or raw (``name``);
``read_idx`` tells them apart by content.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import time
import urllib.request

import numpy as np

from compgraph.data.idx import DataError, read_idx
from compgraph.errors import ArgumentValueError
from compgraph.io import atomic_write

__all__ = ["load_dataset", "cache_dir", "MIRRORS", "SHA256", "SYSTEM_DIRS", "FILES"]

# split -> (images file, labels file), without the ".gz".
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# Base URLs, tried in order; a file's URL is base + file name (with ".gz").
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
}

# SHA-256 of the published .gz files. Source: tensorflow/datasets,
# tensorflow_datasets/url_checksums/{mnist,fashion_mnist}.txt (which also
# records the sizes: MNIST 9912422/28881/1648877/4542 bytes, Fashion-MNIST
# 26421880/29515/4422102/5148). The Fashion-MNIST files are the ones whose
# MD5s Zalando publishes in its README. Debian's package re-gzips the files,
# so its .gz files do not match these digests (their content does).
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

# Read-only locations where a system package installs a dataset.
SYSTEM_DIRS = {"fashion-mnist": "/usr/share/datasets/fashion-mnist"}
SYSTEM_PACKAGES = {"fashion-mnist": "dataset-fashion-mnist"}

IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
DOWNLOAD_TIMEOUT_S = 30
_CHUNK = 1 << 16


def cache_dir(name: str | None = None) -> str:
    """The directory datasets are cached in (for ``name``, its subfolder).

    ``$COMPGRAPH_DATA`` if set, else ``$XDG_CACHE_HOME/compgraph``, else
    ``~/.cache/compgraph``. Not created here.
    """
    base = os.environ.get("COMPGRAPH_DATA")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME")
        # The XDG spec says to ignore empty or relative values.
        if not xdg or not os.path.isabs(xdg):
            xdg = os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "compgraph")
    return base if name is None else os.path.join(base, _canonical_name(name))


def _canonical_name(name: str) -> str:
    canonical = name.lower().replace("_", "-")
    if canonical not in MIRRORS:
        raise ArgumentValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(MIRRORS))}")
    return canonical


def _stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_dataset(name: str, split: str = "train", data_dir=None, download: bool = True,
                 progress: bool = True, log=None, mirrors=None, digests=None):
    """Load ``split`` ("train" or "test") of ``name`` ("mnist" or "fashion-mnist").

    Returns ``(images, labels)``: images a ``uint8`` array N x 28 x 28, labels
    an ``int64`` array N (int64 rather than the file's uint8 so that arithmetic
    on labels cannot wrap around and they index directly).

    With ``data_dir``, only that folder is read; if it is missing or its files
    are missing or damaged, :class:`DataError` names the folder and the file.
    ``log`` receives one line per source tried (default: print to stderr).
    ``mirrors`` (list of base URLs) and ``digests`` (file name -> SHA-256)
    override ``MIRRORS[name]`` and ``SHA256[name]``.

    Raises :class:`DataError` listing every source tried and why it failed,
    with instructions, if no source works.
    """
    name = _canonical_name(name)
    if split not in FILES:
        raise ArgumentValueError(f"unknown split {split!r} for {name}; expected 'train' or 'test'")
    if log is None:
        log = _stderr_log
    mirrors = MIRRORS[name] if mirrors is None else list(mirrors)
    digests = SHA256[name] if digests is None else dict(digests)
    what = f"{name}/{split}"
    failures: list[str] = []

    if data_dir is not None:
        return _load_from_data_dir(os.fspath(data_dir), name, split, log)
    local_dirs = [("cache", cache_dir(name))]
    if name in SYSTEM_DIRS:
        local_dirs.append((f"system package {SYSTEM_PACKAGES[name]}", SYSTEM_DIRS[name]))

    for label, directory in local_dirs:
        try:
            result = _load_from_dir(directory, split)
        except DataError as exc:
            failures.append(f"{label} {directory}: {exc}")
            log(f"compgraph.data: {what}: {label} {directory}: {exc}")
            continue
        log(f"compgraph.data: {what}: loaded from {label} {directory}")
        return result

    if not download:
        failures.append("download: disabled (download=False)")
    else:
        target = cache_dir(name)
        try:
            for stem in FILES[split]:
                _download_verified(stem + ".gz", target, mirrors, digests, progress, log)
            result = _load_from_dir(target, split)
        except DataError as exc:
            failures.append(f"download: {exc}")
            log(f"compgraph.data: {what}: download failed: {exc}")
        else:
            log(f"compgraph.data: {what}: downloaded into {target}")
            return result

    raise DataError(_not_found_message(name, split, failures, mirrors))


def _load_from_data_dir(directory: str, name: str, split: str, log):
    # A folder the user named is what they mean to train or test on; loading
    # another copy instead would report numbers for data they did not choose.
    try:
        result = _load_from_dir(directory, split)
    except DataError as exc:
        raise DataError(
            f"could not load {name} ({split} split) from data_dir {directory}: {exc}; "
            "a given data_dir is the only place looked in (no cache, system copy or "
            "download): fix that folder, or leave data_dir (--data-dir) out to let "
            "compgraph find or download the data") from None
    log(f"compgraph.data: {name}/{split}: loaded from data_dir {directory}")
    return result


def _not_found_message(name: str, split: str, failures: list[str], mirrors) -> str:
    files = ", ".join(stem + ".gz" for pair in FILES.values() for stem in pair)
    lines = [f"could not load {name} ({split} split); sources tried:"]
    lines += [f"  - {failure}" for failure in failures]
    lines.append("To get the data, either:")
    if name in SYSTEM_PACKAGES:
        lines.append(f"  * sudo apt-get install {SYSTEM_PACKAGES[name]}   (Debian/Ubuntu), or")
    source = f" from {mirrors[0]}" if mirrors else ""
    lines.append(
        f"  * download the four files ({files}){source} into {cache_dir(name)} "
        f"(the cache folder, $COMPGRAPH_DATA/{name} when COMPGRAPH_DATA is set; "
        "set COMPGRAPH_DATA to use another folder), or"
    )
    lines.append("  * pass data_dir= (--data-dir) a folder that holds them.")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Local directories
# --------------------------------------------------------------------------


def _find_file(directory: str, stem: str) -> str:
    for candidate in (stem + ".gz", stem):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise DataError(f"missing {stem}.gz (or uncompressed {stem})")


def _load_from_dir(directory: str, split: str):
    if not os.path.isdir(directory):
        raise DataError("no such directory")
    images_stem, labels_stem = FILES[split]
    images_path = _find_file(directory, images_stem)
    labels_path = _find_file(directory, labels_stem)
    try:
        images = read_idx(images_path)
        labels = read_idx(labels_path)
    except OSError as exc:  # unreadable file: report it and try the next source
        raise DataError(f"cannot read: {exc}") from exc
    _check_pair(images, labels, images_path, labels_path)
    return images, labels.astype(np.int64)


def _check_pair(images, labels, images_path: str, labels_path: str) -> None:
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{images_path}: expected uint8 images of shape N x 28 x 28, "
            f"found {images.dtype} of shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(
            f"{labels_path}: expected a 1-d uint8 label array, found {labels.dtype} of shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DataError(f"{labels_path}: label {labels.max()} is outside 0..{NUM_CLASSES - 1}")


# --------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------


def _sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_verified(filename: str, target_dir: str, mirrors, digests, progress, log) -> None:
    """Make ``target_dir/filename`` a verified copy, downloading it if needed."""
    expected = digests.get(filename)
    if expected is None:
        raise DataError(
            f"no known SHA-256 for {filename}; refusing to download unverified data"
        )
    expected = expected.lower()
    destination = os.path.join(target_dir, filename)
    # The cache source already failed, but one of the split's two files may be
    # there and fine: keep it rather than fetch it again.
    if os.path.isfile(destination) and _sha256_of(destination) == expected:
        return
    if not mirrors:
        raise DataError(f"no mirrors configured for {filename}")
    try:
        os.makedirs(target_dir, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the cache folder {target_dir}: {exc}") from exc
    errors = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        try:
            _fetch_into(url, destination, expected, progress, log)
        # OSError covers URLError/HTTPError and timeouts; HTTPException covers
        # a connection cut short; ValueError a malformed mirror URL.
        except (DataError, OSError, http.client.HTTPException, ValueError) as exc:
            errors.append(f"{url}: {exc}")
            log(f"compgraph.data: {url}: {exc}")
            continue
        return
    raise DataError(f"every mirror failed for {filename}: " + "; ".join(errors))


def _fetch_into(url: str, destination: str, expected_sha256: str, progress, log) -> None:
    """Stream ``url`` into ``destination`` atomically, only if the digest matches."""
    log(f"compgraph.data: downloading {url}")
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        total = response.headers.get("Content-Length")
        bar = _progress_bar(os.path.basename(destination), int(total) if total else None,
                            progress, log)
        digest = hashlib.sha256()
        try:
            # Raising inside atomic_write discards the temporary file, so a
            # bad or partial download never lands in the cache.
            with atomic_write(destination) as out:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
                found = digest.hexdigest()
                if found != expected_sha256:
                    raise DataError(
                        f"SHA-256 mismatch: expected {expected_sha256}, found {found}"
                    )
        finally:
            bar.close()


# --------------------------------------------------------------------------
# Progress reporting
# --------------------------------------------------------------------------


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class _LineProgress:
    """Fallback when tqdm is absent: one line at most every ``interval`` seconds."""

    def __init__(self, name: str, total: int | None, log, interval: float = 1.0):
        self.name, self.total, self.log, self.interval = name, total, log, interval
        self.done = 0
        self.last_report = time.monotonic()

    def _report(self) -> None:
        if self.total:
            self.log(f"  {self.name}: {100 * self.done / self.total:5.1f}% "
                     f"({_human_size(self.done)} of {_human_size(self.total)})")
        else:
            self.log(f"  {self.name}: {_human_size(self.done)}")

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last_report >= self.interval:
            self.last_report = now
            self._report()

    def close(self) -> None:
        self._report()


def _human_size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _progress_bar(name: str, total: int | None, enabled: bool, log):
    if not enabled:
        return _NoProgress()
    try:
        from tqdm import tqdm  # optional extra: pip install compgraph[progress]
    except ImportError:
        return _LineProgress(name, total, log)
    return tqdm(total=total, desc=name, unit="B", unit_scale=True, file=sys.stderr)
