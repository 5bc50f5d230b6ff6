"""IDX reader/writer: round trips, byte layout, and every kind of damage."""

import gzip
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from compgraph.data import DataError, read_idx
from compgraph.data.idx import TYPE_CODES, write_idx

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def assert_same_array(a, b):
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (0, 28, 28), (2, 0)])
def test_round_trip_is_exact(tmp_path, dtype, suffix, shape):
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=int(np.prod(shape)) * np.dtype(dtype).itemsize, dtype=np.uint8)
    array = raw.view(dtype).reshape(shape)  # every bit pattern, NaNs included
    path = tmp_path / f"x-idx{len(shape)}-ubyte{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert_same_array(back, array)
    assert back.dtype.isnative
    assert back.flags.writeable


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(dtype=st.sampled_from(IDX_DTYPES), shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5)),
       st.booleans())
def test_round_trip_property(tmp_path_factory, array, gz):
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    assert_same_array(read_idx(path), array)


def test_reads_hand_written_big_endian_file(tmp_path):
    # 2x2 int16 [[1, -2], [258, 0]] written by hand, independent of write_idx.
    data = bytes([0, 0, 0x0B, 2]) + (2).to_bytes(4, "big") * 2
    data += b"\x00\x01" + b"\xff\xfe" + b"\x01\x02" + b"\x00\x00"
    path = tmp_path / "hand.idx"
    path.write_bytes(data)
    np.testing.assert_array_equal(read_idx(path), np.array([[1, -2], [258, 0]], dtype=np.int16))


def test_writer_uses_big_endian_layout(tmp_path):
    path = tmp_path / "f.idx"
    write_idx(path, np.array([1.0], dtype=np.float32))
    assert path.read_bytes() == bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + b"\x3f\x80\x00\x00"


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "real.gz", array)
    write_idx(tmp_path / "plain", array)
    # Swap the names: a gzip file without .gz and a raw file called .gz.
    os.rename(tmp_path / "real.gz", tmp_path / "compressed-but-no-suffix")
    os.rename(tmp_path / "plain", tmp_path / "raw-but-named.gz")
    assert gzip.decompress((tmp_path / "compressed-but-no-suffix").read_bytes())
    assert_same_array(read_idx(tmp_path / "compressed-but-no-suffix"), array)
    assert_same_array(read_idx(tmp_path / "raw-but-named.gz"), array)


def test_writer_leaves_no_temporary_files(tmp_path):
    write_idx(tmp_path / "a.idx.gz", np.zeros((2, 2), np.uint8))
    assert os.listdir(tmp_path) == ["a.idx.gz"]


def _valid_bytes():
    return bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6))


@pytest.mark.parametrize(
    "data, needles",
    [
        (b"\x00\x00", ["at least 4 bytes", "found 2"]),
        (b"\x01\x00\x08\x01" + bytes(5), ["magic", "00 00", "01 00 08 01"]),
        (b"\x00\x00\x0a\x01" + bytes(5), ["type code 0x0A"]),
        (b"\x00\x00\x08\x03" + bytes(6), ["truncated IDX header", "16 bytes", "found 10"]),
        (_valid_bytes()[:-1], ["truncated", "expected 18 bytes", "found 17", "(2, 3)"]),
        (_valid_bytes() + b"\x00", ["over-long", "expected 18 bytes", "found 19"]),
    ],
    ids=["too-short", "bad-magic", "bad-type", "short-header", "truncated", "over-long"],
)
@pytest.mark.parametrize("compress", [False, True])
def test_damaged_files_raise_clear_errors(tmp_path, data, needles, compress):
    path = tmp_path / "bad-file"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message


def test_truncated_gzip_raises_data_error(tmp_path):
    path = tmp_path / "cut.gz"
    write_idx(path, np.arange(1000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="corrupted gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_corrupted_gzip_body_raises_data_error(tmp_path):
    path = tmp_path / "flipped.gz"
    write_idx(path, np.arange(1000, dtype=np.int32))
    data = bytearray(path.read_bytes())
    for i in range(20, 40):  # inside the deflate stream, past the gzip header
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupted gzip"):
        read_idx(path)


@pytest.mark.parametrize("dtype", [np.bool_, np.int64, np.float16, np.uint16, np.complex64])
def test_writer_refuses_types_idx_cannot_hold(tmp_path, dtype):
    with pytest.raises(ValueError, match="cannot be stored in IDX"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=dtype))
    assert not os.listdir(tmp_path)


def test_type_table_matches_the_idx_specification():
    assert {code: dt.name for code, dt in TYPE_CODES.items()} == {
        0x08: "uint8", 0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64",
    }


def test_idx_errors_are_compgraph_errors_of_the_matching_builtin(tmp_path):
    from compgraph.errors import CompgraphError
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(DataError) as info:
        read_idx(bad)
    assert isinstance(info.value, CompgraphError) and isinstance(info.value, ValueError)
    with pytest.raises(FileNotFoundError, match="no such IDX file") as info:
        read_idx(tmp_path / "nope")
    assert isinstance(info.value, CompgraphError)
    with pytest.raises(IsADirectoryError, match="is a folder") as info:
        read_idx(tmp_path)
    assert isinstance(info.value, CompgraphError)
    with pytest.raises(ValueError, match="cannot be stored in IDX") as info:
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.int64))
    assert isinstance(info.value, CompgraphError)


def test_writing_into_a_missing_folder_names_the_folder(tmp_path):
    from compgraph.errors import CompgraphError
    target = tmp_path / "nodir" / "w.idx"
    with pytest.raises(FileNotFoundError) as info:
        write_idx(target, np.arange(3, dtype=np.uint8))
    message = str(info.value)
    assert isinstance(info.value, CompgraphError)
    assert f"the folder {tmp_path / 'nodir'} does not exist" in message and ".tmp" not in message
