"""load_dataset: source order, local formats, verified downloads from a local server.

No test reaches the network: every test runs with mirrors pointing at a closed
local port unless it serves files itself from http.server on 127.0.0.1.
"""

import functools
import hashlib
import http.server
import os
import socket
import sys
import threading

import numpy as np
import pytest

from compgraph.data import DataError, cache_dir, load_dataset
from compgraph.data import datasets
from compgraph.data.idx import write_idx

FILE_NAMES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Cache and system dir in tmp_path, mirrors unreachable, logs collected."""
    monkeypatch.setenv("COMPGRAPH_DATA", str(tmp_path / "cache"))
    monkeypatch.setitem(datasets.SYSTEM_DIRS, "fashion-mnist", str(tmp_path / "system"))
    dead = [closed_port_url()]
    monkeypatch.setitem(datasets.MIRRORS, "mnist", dead)
    monkeypatch.setitem(datasets.MIRRORS, "fashion-mnist", dead)
    # Make the plain-text progress fallback the one in use, tqdm or not.
    monkeypatch.setitem(sys.modules, "tqdm", None)


class Log(list):
    def __call__(self, message):
        self.append(message)

    def text(self):
        return "\n".join(self)


def make_split_files(directory, split, n, seed, gz=True):
    """Write a tiny IDX image/label pair; return (images, labels)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if gz else ""
    os.makedirs(directory, exist_ok=True)
    write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte{suffix}"), images)
    write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte{suffix}"), labels)
    return images, labels


def make_dataset_files(directory, seed=0, gz=True):
    return {
        "train": make_split_files(directory, "train", 6, seed, gz),
        "test": make_split_files(directory, "test", 4, seed + 1, gz),
    }


def sha256_of(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def assert_loaded(result, expected):
    images, labels = result
    assert images.dtype == np.uint8 and images.shape == expected[0].shape
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(images, expected[0])
    np.testing.assert_array_equal(labels, expected[1])


# --------------------------------------------------------------------------
# cache_dir
# --------------------------------------------------------------------------


def test_cache_dir_prefers_compgraph_data(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPGRAPH_DATA", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == str(tmp_path / "mine")
    assert cache_dir("fashion_mnist") == str(tmp_path / "mine" / "fashion-mnist")


def test_cache_dir_uses_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPGRAPH_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("mnist") == str(tmp_path / "xdg" / "compgraph" / "mnist")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for ignored in ("", "relative/path"):
        monkeypatch.setenv("XDG_CACHE_HOME", ignored)
        assert cache_dir() == str(tmp_path / "home" / ".cache" / "compgraph")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == str(tmp_path / "home" / ".cache" / "compgraph")


def test_unknown_dataset_and_split_are_rejected():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'.*fashion-mnist, mnist"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="unknown split 'val'"):
        load_dataset("mnist", split="val")


# --------------------------------------------------------------------------
# Local sources
# --------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("split", ["train", "test"])
def test_loads_from_data_dir_gz_or_raw(tmp_path, gz, split):
    expected = make_dataset_files(tmp_path / "mine", gz=gz)
    log = Log()
    result = load_dataset("mnist", split, data_dir=tmp_path / "mine", log=log)
    assert_loaded(result, expected[split])
    assert log == [f"compgraph.data: mnist/{split}: loaded from data_dir {tmp_path / 'mine'}"]


def test_data_dir_comes_before_cache(tmp_path):
    from_dir = make_dataset_files(tmp_path / "mine", seed=1)
    make_dataset_files(cache_dir("mnist"), seed=2)
    assert_loaded(load_dataset("mnist", data_dir=tmp_path / "mine", log=Log()), from_dir["train"])


def test_cache_is_used_and_each_source_is_reported(tmp_path):
    make_dataset_files(datasets.SYSTEM_DIRS["fashion-mnist"], seed=3)
    expected = make_dataset_files(cache_dir("fashion-mnist"))
    log = Log()
    assert_loaded(load_dataset("fashion-mnist", "test", log=log), expected["test"])
    assert log == [f"compgraph.data: fashion-mnist/test: loaded from cache {cache_dir('fashion-mnist')}"]


@pytest.mark.parametrize("damage", ["missing folder", "missing file", "truncated gzip"])
def test_a_given_data_dir_is_the_only_source(tmp_path, damage):
    """A data_dir that does not work is an error naming it, even with good copies elsewhere."""
    make_dataset_files(cache_dir("fashion-mnist"), seed=2)
    make_dataset_files(datasets.SYSTEM_DIRS["fashion-mnist"], seed=3)
    mine = tmp_path / "mine"
    if damage != "missing folder":
        make_dataset_files(mine)
        images = mine / "train-images-idx3-ubyte.gz"
        if damage == "missing file":
            os.remove(images)
        else:
            images.write_bytes(images.read_bytes()[:40])
    log = Log()
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", data_dir=mine, log=log)
    message = str(info.value)
    assert f"from data_dir {mine}" in message and "the only place looked in" in message
    assert {"missing folder": "no such directory", "missing file": "missing train-images",
            "truncated gzip": "corrupted gzip"}[damage] in message
    assert not any("loaded" in line for line in log)


def test_system_package_dir_serves_fashion_mnist_only(tmp_path):
    expected = make_dataset_files(datasets.SYSTEM_DIRS["fashion-mnist"], gz=False)
    log = Log()
    assert_loaded(load_dataset("fashion_mnist", log=log), expected["train"])
    assert "loaded from system package dataset-fashion-mnist" in log[-1]
    with pytest.raises(DataError) as info:
        load_dataset("mnist", download=False, log=Log())
    assert "system package" not in str(info.value)


def test_corrupt_cache_file_is_reported_and_next_source_used(tmp_path):
    make_dataset_files(cache_dir("fashion-mnist"))
    images_path = os.path.join(cache_dir("fashion-mnist"), "train-images-idx3-ubyte.gz")
    with open(images_path, "r+b") as f:
        f.truncate(40)
    expected = make_dataset_files(datasets.SYSTEM_DIRS["fashion-mnist"], seed=5)
    log = Log()
    assert_loaded(load_dataset("fashion-mnist", log=log), expected["train"])
    assert "corrupted gzip" in log[0] and images_path in log[0]


def test_unreadable_file_is_reported_and_next_source_used(tmp_path, monkeypatch):
    make_dataset_files(cache_dir("fashion-mnist"))
    expected = make_dataset_files(datasets.SYSTEM_DIRS["fashion-mnist"], seed=9)
    real_read_idx = datasets.read_idx

    def read_idx(path):
        if cache_dir("fashion-mnist") in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_idx(path)

    monkeypatch.setattr(datasets, "read_idx", read_idx)
    log = Log()
    assert_loaded(load_dataset("fashion-mnist", log=log), expected["train"])
    assert "cannot read: [Errno 13] Permission denied" in log[0]


def test_unreadable_data_dir_is_an_error(tmp_path, monkeypatch):
    make_dataset_files(tmp_path / "mine")
    make_dataset_files(cache_dir("mnist"), seed=9)
    monkeypatch.setattr(datasets, "read_idx", lambda path: (_ for _ in ()).throw(
        PermissionError(13, "Permission denied", str(path))))
    with pytest.raises(DataError, match=r"from data_dir .*mine: cannot read: \[Errno 13\]"):
        load_dataset("mnist", data_dir=tmp_path / "mine", log=Log())


def test_image_label_count_mismatch_is_an_error(tmp_path):
    directory = tmp_path / "mine"
    make_split_files(directory, "train", 5, seed=0)
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="holds 5 images but .* holds 4 labels"):
        load_dataset("mnist", data_dir=directory, download=False, log=Log())


def test_wrong_image_shape_is_an_error(tmp_path):
    directory = tmp_path / "mine"
    make_split_files(directory, "test", 3, seed=0)
    write_idx(directory / "t10k-images-idx3-ubyte.gz", np.zeros((3, 32, 32), np.uint8))
    with pytest.raises(DataError, match=r"N x 28 x 28.*\(3, 32, 32\)"):
        load_dataset("mnist", "test", data_dir=directory, download=False, log=Log())


def test_missing_file_is_named(tmp_path):
    directory = tmp_path / "mine"
    make_split_files(directory, "train", 3, seed=0)
    os.remove(directory / "train-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match=r"missing train-labels-idx1-ubyte\.gz"):
        load_dataset("mnist", data_dir=directory, download=False, log=Log())


# --------------------------------------------------------------------------
# Downloads, served from 127.0.0.1
# --------------------------------------------------------------------------


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep test output clean
        pass

    def do_GET(self):
        self.server.requested.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/served on an ephemeral port; yields (base_url, served_dir, requests)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(RecordingHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requested = []
    # A short poll interval keeps shutdown() quick.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", served, httpd.requested
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def served_digests(served):
    return {name: sha256_of(served / name) for name in FILE_NAMES}


def test_download_verifies_and_lands_in_cache(server, monkeypatch):
    base, served, requested = server
    expected = make_dataset_files(served)
    # Override through the module tables, as a user pointing at a mirror would.
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [base])
    monkeypatch.setitem(datasets.SHA256, "mnist", served_digests(served))
    log = Log()
    assert_loaded(load_dataset("mnist", "train", log=log), expected["train"])
    cached = sorted(os.listdir(cache_dir("mnist")))
    assert cached == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    for name in cached:
        assert sha256_of(os.path.join(cache_dir("mnist"), name)) == sha256_of(served / name)
    assert sorted(requested) == ["/train-images-idx3-ubyte.gz", "/train-labels-idx1-ubyte.gz"]
    assert any("100.0%" in line for line in log)  # the plain progress fallback
    assert f"downloaded into {cache_dir('mnist')}" in log[-1]
    # Second call: served from the cache, no new request.
    assert_loaded(load_dataset("mnist", "train", log=log), expected["train"])
    assert len(requested) == 2


def test_wrong_digest_is_rejected_and_cache_left_empty(server):
    base, served, requested = server
    make_dataset_files(served)
    digests = served_digests(served)
    digests["train-images-idx3-ubyte.gz"] = "0" * 64
    with pytest.raises(DataError) as info:
        load_dataset("mnist", mirrors=[base], digests=digests, log=Log())
    message = str(info.value)
    assert "SHA-256 mismatch" in message and "0" * 64 in message
    assert sha256_of(served / "train-images-idx3-ubyte.gz") in message
    assert os.listdir(cache_dir("mnist")) == []
    assert requested == ["/train-images-idx3-ubyte.gz"]


def test_first_mirror_failing_falls_back_to_second(server):
    base, served, requested = server
    expected = make_dataset_files(served)
    refused = closed_port_url()
    not_found = base + "no-such-folder/"
    log = Log()
    result = load_dataset("mnist", "test", mirrors=[refused, not_found, base],
                          digests=served_digests(served), log=log)
    assert_loaded(result, expected["test"])
    text = log.text()
    assert f"{refused}t10k-images-idx3-ubyte.gz" in text
    assert f"{not_found}t10k-images-idx3-ubyte.gz: HTTP Error 404" in text
    assert "/no-such-folder/t10k-images-idx3-ubyte.gz" in requested
    assert "/t10k-images-idx3-ubyte.gz" in requested


def test_file_without_known_digest_is_never_downloaded(server):
    base, served, requested = server
    make_dataset_files(served)
    digests = served_digests(served)
    del digests["train-labels-idx1-ubyte.gz"]
    with pytest.raises(DataError, match="no known SHA-256 for train-labels-idx1-ubyte.gz; refusing"):
        load_dataset("mnist", mirrors=[base], digests=digests, log=Log())
    assert "/train-labels-idx1-ubyte.gz" not in requested
    assert not os.path.exists(os.path.join(cache_dir("mnist"), "train-labels-idx1-ubyte.gz"))


def test_verified_file_already_in_cache_is_not_fetched_again(server):
    base, served, requested = server
    expected = make_dataset_files(served)
    os.makedirs(cache_dir("mnist"))
    labels_name = "train-labels-idx1-ubyte.gz"
    with open(os.path.join(cache_dir("mnist"), labels_name), "wb") as f:
        f.write((served / labels_name).read_bytes())
    result = load_dataset("mnist", mirrors=[base], digests=served_digests(served), log=Log())
    assert_loaded(result, expected["train"])
    assert requested == ["/train-images-idx3-ubyte.gz"]


def test_download_false_makes_no_request(server):
    base, served, requested = server
    make_dataset_files(served)
    with pytest.raises(DataError, match=r"download: disabled \(download=False\)"):
        load_dataset("mnist", download=False, mirrors=[base], digests=served_digests(served), log=Log())
    assert requested == []


def test_offline_with_nothing_found_gives_one_clear_message(tmp_path):
    refused = closed_port_url()
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", mirrors=[refused], log=Log())
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == "could not load fashion-mnist (train split); sources tried:"
    assert lines[1] == f"  - cache {cache_dir('fashion-mnist')}: no such directory"
    assert lines[2] == f"  - system package dataset-fashion-mnist {tmp_path / 'system'}: no such directory"
    assert lines[3].startswith(f"  - download: every mirror failed for train-images-idx3-ubyte.gz: {refused}")
    assert "apt-get install dataset-fashion-mnist" in message
    assert "$COMPGRAPH_DATA" in message and cache_dir("fashion-mnist") in message
    assert all(name in message for name in FILE_NAMES)


def test_unwritable_cache_is_reported(tmp_path, monkeypatch, server):
    base, served, requested = server
    make_dataset_files(served)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COMPGRAPH_DATA", str(blocker / "sub"))
    with pytest.raises(DataError, match="cannot create the cache folder"):
        load_dataset("mnist", mirrors=[base], digests=served_digests(served), log=Log())
    assert requested == []


def test_published_digest_table_is_complete_and_well_formed():
    for name in ("mnist", "fashion-mnist"):
        assert sorted(datasets.SHA256[name]) == sorted(FILE_NAMES)
        for digest in datasets.SHA256[name].values():
            assert len(digest) == 64 and int(digest, 16) >= 0
    # The two datasets are different files; a copy-paste slip would show here.
    assert not set(datasets.SHA256["mnist"].values()) & set(datasets.SHA256["fashion-mnist"].values())
