"""torch.nn.utils.rnn: padding and packing variable-length sequences.

A PackedSequence holds the time steps of a batch of sequences back to back: first step 0
of every sequence, then step 1 of those at least 2 long, ... (sequences sorted by length,
longest first); batch_sizes[t] is how many sequences have a step t.  RNN, LSTM and GRU take
one and return one (see compgraph/nn/_packed.py).

Every conversion is one gather (getitem with an index array) over the flattened input, so
the gradient flows back through packing and padding as a scatter-add.
"""
from collections import namedtuple

import numpy as np

from ... import functional as CF
from ...errors import ArgumentError, ArgumentValueError, ShapeError
from ...ops.table import fmt
from ...tensor import Tensor, _make


def _int64(x):
    return _make(np.asarray(x, dtype=np.int64))


def _ints(x, name):
    if isinstance(x, Tensor):
        x._concrete(name)      # lengths shape the packing: compile() cannot replay them
    value = x._value if isinstance(x, Tensor) else np.asarray(x)
    if value.ndim != 1 or (value.size and value.dtype.kind not in "iu"):
        raise ArgumentError(f"{name} must be a 1-D sequence of integers, got {value!r}")
    return value.astype(np.int64)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                                   "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as PyTorch's; build it with
    pack_padded_sequence or pack_sequence rather than by hand."""
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise ArgumentError("PackedSequence: batch_sizes is required; use "
                                "pack_padded_sequence or pack_sequence to build one")
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _int64(np.argsort(_ints(sorted_indices, "sorted_indices")))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs):
        return self._with_data(self.data.to(*args, **kwargs))

    def double(self):
        return self._with_data(self.data.double())

    def float(self):
        return self._with_data(self.data.float())

    def cpu(self):
        return self

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def _sequence_first(x, batch_first):
    return CF.transpose(x, 0, 1) if batch_first else x


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) ((B, T, *) with batch_first) of sequences of the
    given lengths.  With enforce_sorted, lengths must be non-increasing; otherwise the
    batch is sorted (stably, longest first) and the order kept in sorted_indices."""
    if input.ndim < 2:
        raise ShapeError(f"pack_padded_sequence: input must be at least 2-D (T, B, *), got "
                         f"shape {fmt(input.shape)}")
    lengths = _ints(lengths, "pack_padded_sequence: lengths")
    x = _sequence_first(input, batch_first)
    T, B = x.shape[0], x.shape[1]
    if lengths.shape[0] != B:
        raise ShapeError(f"pack_padded_sequence: expected len(lengths) to be equal to the "
                         f"batch size {B}, got {lengths.shape[0]}")
    if B and lengths.min() <= 0:
        raise ArgumentValueError(f"pack_padded_sequence: every length must be greater than 0, "
                                 f"got lengths {lengths.tolist()}")
    if B and lengths.max() > T:
        raise ArgumentValueError(f"pack_padded_sequence: a length {lengths.max()} exceeds the "
                                 f"{T} steps of the input of shape {fmt(input.shape)}")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ArgumentValueError(
                f"pack_padded_sequence: lengths {lengths.tolist()} must be sorted in decreasing "
                "order when enforce_sorted is True; pass enforce_sorted=False to sort them")
        order, sorted_indices = np.arange(B), None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = _int64(order)
    sorted_lengths = lengths[order]
    steps = int(sorted_lengths[0]) if B else 0
    batch_sizes = (sorted_lengths[None, :] > np.arange(steps)[:, None]).sum(1)
    # row t * B + order[b] of the flattened input, for every (t, b) with b < batch_sizes[t]
    idx = np.concatenate([t * B + order[:n] for t, n in enumerate(batch_sizes)]) \
        if steps else np.zeros(0, np.int64)
    flat = CF.reshape(x, (T * B,) + tuple(x.shape[2:]))
    data = CF.getitem(flat, idx)
    return PackedSequence(data, _int64(batch_sizes), sorted_indices,
                          None if sorted_indices is None else _int64(np.argsort(order)))


def _packed_positions(batch_sizes, sorted_indices):
    """For each packed row: (time step, original batch index)."""
    bs = _ints(batch_sizes, "batch_sizes")
    order = np.arange(bs[0] if bs.size else 0) if sorted_indices is None \
        else _ints(sorted_indices, "sorted_indices")
    t = np.repeat(np.arange(bs.size), bs)
    b = np.concatenate([order[:n] for n in bs]) if bs.size else np.zeros(0, np.int64)
    return t, b, bs, order


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The padded batch (T, B, *) and the lengths (int64, in the batch's original order) of
    a PackedSequence; T is the longest length, or total_length if given."""
    data = sequence.data
    t, b, bs, order = _packed_positions(sequence.batch_sizes, sequence.sorted_indices)
    steps, B = bs.size, (int(bs[0]) if bs.size else 0)
    if total_length is not None:
        if total_length < steps:
            raise ArgumentValueError(f"pad_packed_sequence: expected total_length to be at least "
                                     f"the length of the longest sequence in input, but got "
                                     f"total_length={total_length} and max sequence length "
                                     f"being {steps}")
        steps = total_length
    feat = tuple(data.shape[1:])
    # gather from [data; one padding row]: padded position (t, b) reads its packed row
    source = np.full(steps * B, data.shape[0], np.int64)
    source[t * B + b] = np.arange(data.shape[0])
    pad = _make(np.full((1,) + feat, padding_value, dtype=data.dtype))
    padded = CF.reshape(CF.getitem(CF.cat([data, pad], 0), source), (steps, B) + feat)
    lengths = np.zeros(B, np.int64)
    np.add.at(lengths, b, 1)
    return _sequence_first(padded, batch_first), _int64(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes (L_i, *) into (T, B, *) ((B, T, *) with batch_first), padded
    with padding_value to the longest, on the right or (padding_side='left') on the left."""
    if padding_side not in ("left", "right"):
        raise ArgumentValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                                 f"{padding_side!r}")
    seqs = list(sequences.unbind(0)) if isinstance(sequences, Tensor) else list(sequences)
    if not seqs:
        raise ArgumentValueError("pad_sequence: received an empty list of sequences")
    feat = tuple(seqs[0].shape[1:])
    for i, s in enumerate(seqs):
        if s.ndim == 0 or tuple(s.shape[1:]) != feat:
            raise ShapeError(f"pad_sequence: every sequence must have shape (L, *{feat}) like "
                             f"the first, but sequence {i} has shape {fmt(s.shape)}")
    lengths = np.array([s.shape[0] for s in seqs], np.int64)
    T, B = int(lengths.max()), len(seqs)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    total = int(lengths.sum())
    source = np.full((T, B), total, np.int64)
    for b, (n, start) in enumerate(zip(lengths, starts)):
        offset = T - n if padding_side == "left" else 0
        source[offset:offset + n, b] = start + np.arange(n)
    pad = _make(np.full((1,) + feat, padding_value, dtype=seqs[0].dtype))
    if batch_first:                       # gather straight into (B, T, *) order
        source = source.T
    rows = CF.getitem(CF.cat(seqs + [pad], 0), source.reshape(-1))
    return CF.reshape(rows, source.shape + feat)


def pack_sequence(sequences, enforce_sorted=True):
    """pack_padded_sequence(pad_sequence(sequences), lengths)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences that pad_sequence stacked, each cut to its length."""
    x = _sequence_first(padded_sequences, batch_first)
    return [x[:int(n), i] for i, n in enumerate(_ints(lengths, "unpad_sequence: lengths"))]


def unpack_sequence(packed_sequences):
    """The list of sequences in a PackedSequence, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "pad_sequence", "unpack_sequence", "unpad_sequence"]
