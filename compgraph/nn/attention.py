"""Attention: F.scaled_dot_product_attention, F.multi_head_attention_forward and
nn.MultiheadAttention, with PyTorch's arguments, parameter names and mask conventions.

All of it is a composition of table ops (matmul, softmax, where, linear, reshapes), so the
gradients come from the op table.  Masks are folded into one additive term on the scores:
a bool mask becomes 0 / -inf (in SDPA True means "may attend", in MultiheadAttention True
means "ignore", as in PyTorch), a float mask is added as given.  A mask that does not
require grad stays a NumPy array: a constant costs no node.

Rows whose every score is -inf: scaled_dot_product_attention (and MultiheadAttention with
need_weights=False, which PyTorch routes through it) gives zeros there, as PyTorch's safe
softmax does; MultiheadAttention with need_weights=True gives NaN, as PyTorch's does.
Under compile() a mask given as a tensor stays in the graph as ops (where, eq, all), so
that each replay reads that call's mask instead of the one seen while tracing.
"""
import math

import numpy as np

from .. import functional as CF
from .. import state
from ..errors import ArgumentValueError, DTypeError, ShapeError
from ..ops.table import fmt
from ..tensor import Tensor, _make, as_tensor
from . import init
from ._fn_layers import linear
from .layers import Linear, _empty
from .module import Module


# --- masks --------------------------------------------------------------------------------

def _mask_values(mask, name, dtype, true_means_keep):
    """A mask as an additive term: a NumPy array of `dtype`, or the float Tensor itself
    when it requires grad (a learned bias).  None stays None."""
    if mask is None:
        return None
    if isinstance(mask, Tensor) and state.TRACE is not None:
        return _traced_mask(mask, name, dtype, true_means_keep)
    value = mask._value if isinstance(mask, Tensor) else np.asarray(mask)
    if value.dtype.kind == "b":
        keep = value if true_means_keep else ~value
        return np.where(keep, 0, -np.inf).astype(dtype)
    if value.dtype.kind != "f":
        raise DTypeError(f"{name}: only bool and floating masks are supported, got {value.dtype}")
    if value.dtype != dtype:
        raise DTypeError(f"{name}: a float mask must have the query's dtype {dtype}, got "
                         f"{value.dtype}; convert it (mask.to(query.dtype)) or pass a bool mask")
    if isinstance(mask, Tensor) and mask.requires_grad:
        return mask
    return value


def _traced_mask(mask, name, dtype, true_means_keep):
    """The additive mask as ops, so that a compiled function reads each call's mask."""
    if mask.dtype.kind == "b":
        keep = mask if true_means_keep else CF.logical_not(mask)
        return CF.where(keep, _make(np.zeros((), dtype)), _make(np.array(-np.inf, dtype)))
    if mask.dtype != dtype:
        _mask_values(_make(np.zeros(0, mask.dtype)), name, dtype, true_means_keep)  # its error
    return mask


def _combine(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return as_tensor(a) + as_tensor(b)
    return a + b


def _raw(x):
    return x._value if isinstance(x, Tensor) else x


def causal_bias(L, S, dtype):
    """0 where query i may see key j (j <= i, aligned at the top left, as PyTorch's), -inf
    elsewhere."""
    return np.where(np.tri(L, S, dtype=bool), 0, -np.inf).astype(dtype)


def _attend(q, k, v, bias, dropout_p, scale, safe):
    """softmax(q k^T * scale + bias) v over the last two dims; returns (output, weights).
    safe: rows that are all -inf weigh zero (instead of NaN)."""
    scores = CF.matmul(q * scale, CF.transpose(k, -2, -1))
    dead = None
    if bias is not None:
        try:
            full = np.broadcast_shapes(tuple(scores.shape), tuple(np.shape(_raw(bias))))
        except ValueError:
            full = None
        if full != tuple(scores.shape):
            raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape "
                             f"{fmt(np.shape(_raw(bias)))} does not broadcast to the attention "
                             f"scores' shape {fmt(scores.shape)} (..., L, S)")
        scores = scores + (bias if isinstance(bias, Tensor) else as_tensor(bias))
        if safe and isinstance(bias, Tensor) and state.TRACE is not None:
            dead = CF.all(CF.eq(bias, -np.inf), -1, True)       # which rows, on every replay
            scores = CF.where(dead, 0.0, scores)
        elif safe:
            dead_rows = np.all(np.isneginf(_raw(bias)), axis=-1, keepdims=True)
            if dead_rows.any():
                dead = np.broadcast_to(dead_rows, tuple(scores.shape[:-1]) + (1,))
                # zeros in place of the -inf rows, so that softmax and its gradient stay finite
                scores = CF.where(as_tensor(dead), 0.0, scores)
    weights = CF.softmax(scores, -1)
    if dead is not None:
        weights = CF.where(as_tensor(dead) if isinstance(dead, np.ndarray) else dead, 0.0, weights)
    if dropout_p > 0:
        weights = CF.dropout(weights, dropout_p, True, name="scaled_dot_product_attention")
    return CF.matmul(weights, v), weights


def _repeat_heads(x, times):
    """(..., H, S, E) -> (..., H * times, S, E), each head repeated `times` times in a row."""
    shape = tuple(x.shape)
    wide = CF.broadcast_to(CF.unsqueeze(x, -3), shape[:-2] + (times,) + shape[-2:])
    return CF.reshape(wide, shape[:-3] + (shape[-3] * times,) + shape[-2:])


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q K^T * scale + mask) V for Q (..., L, E), K (..., S, E), V (..., S, Ev).

    attn_mask: bool (True = may attend) or float (added), broadcast to (..., L, S);
    is_causal applies the top-left causal mask (and, as in PyTorch, cannot be combined
    with attn_mask); scale defaults to 1/sqrt(E); dropout_p drops attention weights
    (always, as PyTorch's function has no training flag).
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ShapeError(f"scaled_dot_product_attention: {name} must have at least 2 "
                             f"dims (..., seq, features), got shape {fmt(t.shape)}")
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(f"scaled_dot_product_attention: query {fmt(query.shape)} and key "
                         f"{fmt(key.shape)} must have the same last dimension")
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: key {fmt(key.shape)} and value "
                         f"{fmt(value.shape)} must have the same sequence length (dim -2)")
    if not 0 <= dropout_p <= 1:
        raise ArgumentValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], "
                                 f"got {dropout_p}")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hk == 0 or hq % hk or value.shape[-3] != hk:
            raise ShapeError(f"scaled_dot_product_attention: with enable_gqa the query's "
                             f"{hq} heads must be a multiple of the key's and value's heads, "
                             f"got key {fmt(key.shape)} and value {fmt(value.shape)}")
        key, value = _repeat_heads(key, hq // hk), _repeat_heads(value, hq // hk)
    if is_causal and attn_mask is not None:
        raise ArgumentValueError("scaled_dot_product_attention: pass either attn_mask or "
                                 "is_causal=True, not both (fold the causal mask into attn_mask)")
    L, S = query.shape[-2], key.shape[-2]
    bias = _mask_values(attn_mask, "scaled_dot_product_attention", query.dtype, True)
    if is_causal:
        bias = causal_bias(L, S, query.dtype)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1]) if query.shape[-1] else 1.0
    return _attend(query, key, value, bias, dropout_p, scale, safe=True)[0]


# --- multi-head attention ---------------------------------------------------------------------

def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads):
    """PyTorch's shape rules for batched (L, N, E) or unbatched (L, E) inputs; returns batched."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise ShapeError(f"multi_head_attention: for a batched (3-D) query, key and value "
                             f"must be 3-D too, got {key.ndim}-D and {value.ndim}-D")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise ShapeError(f"multi_head_attention: for a batched (3-D) query, key_padding_mask "
                             f"must be 2-D (N, S), got shape {fmt(key_padding_mask.shape)}")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise ShapeError(f"multi_head_attention: attn_mask must be 2-D (L, S) or 3-D "
                             f"(N * num_heads, L, S), got shape {fmt(attn_mask.shape)}")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise ShapeError(f"multi_head_attention: for an unbatched (2-D) query, key and "
                             f"value must be 2-D too, got {key.ndim}-D and {value.ndim}-D")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise ShapeError(f"multi_head_attention: for an unbatched (2-D) query, "
                             f"key_padding_mask must be 1-D (S,), got shape "
                             f"{fmt(key_padding_mask.shape)}")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise ShapeError(f"multi_head_attention: attn_mask must be 2-D (L, S) or 3-D "
                             f"(num_heads, L, S), got shape {fmt(attn_mask.shape)}")
        return False
    raise ShapeError(f"multi_head_attention: query must be 2-D (L, E) or 3-D (L, N, E), got "
                     f"shape {fmt(query.shape)}")


def _pad_last(m):
    """A zero column appended to an additive mask (for bias_k / add_zero_attn)."""
    if m is None:
        return None
    if isinstance(m, Tensor):
        return CF.cat([m, as_tensor(np.zeros(tuple(m.shape[:-1]) + (1,), m.dtype))], -1)
    return np.concatenate([m, np.zeros(m.shape[:-1] + (1,), m.dtype)], -1)


def _reshape_mask(m, shape):
    return CF.reshape(m, shape) if isinstance(m, Tensor) else m.reshape(shape)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """PyTorch's F.multi_head_attention_forward on sequence-first inputs (L, N, E) / (L, E).

    Returns (output (L, N, E), weights (N, L, S) averaged over heads, or (N, H, L, S) with
    average_attn_weights=False, or None without need_weights)."""
    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    self_attention = query is key and key is value
    if not batched:
        query = CF.unsqueeze(query, 1)
        key = query if self_attention else CF.unsqueeze(key, 1)
        value = key if value is key or self_attention else CF.unsqueeze(value, 1)
        if key_padding_mask is not None:
            key_padding_mask = CF.unsqueeze(as_tensor(key_padding_mask), 0)
    L, N, E = query.shape
    S = key.shape[0]
    if E != embed_dim_to_check:
        raise ShapeError(f"multi_head_attention: was expecting embedding dimension of "
                         f"{embed_dim_to_check}, but the query has shape {fmt(query.shape)}")
    if num_heads <= 0 or E % num_heads:
        raise ArgumentValueError(f"multi_head_attention: embed_dim {E} must be divisible by "
                                 f"num_heads {num_heads}")
    hd = E // num_heads
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise ShapeError(f"multi_head_attention: key's sequence and batch dims "
                             f"{fmt(key.shape[:2])} do not match value's {fmt(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise ShapeError(f"multi_head_attention: key shape {fmt(key.shape)} does not match "
                         f"value shape {fmt(value.shape)}")
    if is_causal and attn_mask is None:
        raise ArgumentValueError("multi_head_attention: is_causal=True needs attn_mask as well "
                                 "(Transformer.generate_square_subsequent_mask makes one)")
    dtype = query.dtype
    kpm = _mask_values(key_padding_mask, "multi_head_attention key_padding_mask", dtype, False)
    if is_causal and kpm is None and not need_weights:
        mask = causal_bias(L, S, dtype)       # PyTorch trusts the hint over the mask given
    else:
        mask = _mask_values(attn_mask, "multi_head_attention attn_mask", dtype, False)
    if mask is not None:
        shape = tuple(np.shape(_raw(mask)))
        want = (L, S) if len(shape) == 2 else (N * num_heads, L, S)
        if shape != want:
            raise ShapeError(f"multi_head_attention: the shape of the {len(shape)}-D attn_mask "
                             f"is {fmt(shape)}, but should be {fmt(want)}")

    q, k, v = _in_projection(query, key, value, E, in_proj_weight, in_proj_bias,
                             use_separate_proj_weight, q_proj_weight, k_proj_weight,
                             v_proj_weight, self_attention)
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ArgumentValueError("multi_head_attention: bias_k/bias_v cannot be combined "
                                     "with static_k/static_v")
        k = CF.cat([k, CF.broadcast_to(bias_k, (1, N, E))], 0)
        v = CF.cat([v, CF.broadcast_to(bias_v, (1, N, E))], 0)
        mask, kpm = _pad_last(mask), _pad_last(kpm)

    # (seq, N, E) -> (N, H, seq, hd)
    q = CF.permute(CF.reshape(q, (L, N, num_heads, hd)), 1, 2, 0, 3)
    k = _heads(k, static_k, N, num_heads, hd, "static_k")
    v = _heads(v, static_v, N, num_heads, hd, "static_v")
    if add_zero_attn:
        zeros = as_tensor(np.zeros((N, num_heads, 1, hd), dtype))
        k, v = CF.cat([k, zeros], 2), CF.cat([v, zeros], 2)
        mask, kpm = _pad_last(mask), _pad_last(kpm)
    S = k.shape[2]
    if kpm is not None:
        if tuple(np.shape(_raw(kpm))) != (N, S):
            raise ShapeError(f"multi_head_attention: key_padding_mask has shape "
                             f"{fmt(np.shape(_raw(kpm)))}, expected (N, S) = {fmt((N, S))}")
        kpm = _reshape_mask(kpm, (N, 1, 1, S))
    if mask is not None and np.ndim(_raw(mask)) == 3:
        mask = _reshape_mask(mask, (N, num_heads, L, S))
    bias = _combine(mask, kpm)
    p = dropout_p if training else 0.0
    out, weights = _attend(q, k, v, bias, p, 1.0 / math.sqrt(hd), safe=not need_weights)
    out = CF.reshape(CF.permute(out, 2, 0, 1, 3), (L, N, E))      # (L, N, H, hd) -> (L, N, E)
    out = linear(out, out_proj_weight, out_proj_bias)
    if not need_weights:
        weights = None
    elif average_attn_weights:
        weights = CF.mean(weights, 1)
    if not batched:
        out = CF.squeeze(out, 1)
        if weights is not None:
            weights = CF.squeeze(weights, 0)
    return out, weights


def _in_projection(query, key, value, E, w, b, separate, wq, wk, wv, self_attention):
    if not separate:
        if self_attention:                      # one product for q, k and v together
            qkv = linear(query, w, b)
            return (CF.getitem(qkv, (Ellipsis, slice(0, E))),
                    CF.getitem(qkv, (Ellipsis, slice(E, 2 * E))),
                    CF.getitem(qkv, (Ellipsis, slice(2 * E, 3 * E))))
        wq, wk, wv = (CF.getitem(w, slice(i * E, (i + 1) * E)) for i in range(3))
    bq = bk = bv = None
    if b is not None:
        bq, bk, bv = (CF.getitem(b, slice(i * E, (i + 1) * E)) for i in range(3))
    q = linear(query, wq, bq)
    k = linear(key, wk, bk)
    v = k if value is key and wv is wk and bv is bk else linear(value, wv, bv)
    return q, k, v


def _heads(x, static, N, H, hd, name):
    """(S, N, E) -> (N, H, S, hd); a static_k/static_v of shape (N * H, S, hd) replaces it."""
    if static is not None:
        if static.ndim != 3 or static.shape[0] != N * H or static.shape[2] != hd:
            raise ShapeError(f"multi_head_attention: {name} must have shape (N * num_heads, S, "
                             f"head_dim) = ({N * H}, S, {hd}), got {fmt(static.shape)}")
        return CF.reshape(static, (N, H, static.shape[1], hd))
    return CF.permute(CF.reshape(x, (x.shape[0], N, H, hd)), 1, 2, 0, 3)


class NonDynamicallyQuantizableLinear(Linear):
    """MultiheadAttention's out_proj: a Linear under the class name PyTorch gives it."""


class MultiheadAttention(Module):
    """Multi-head attention with PyTorch's parameters: in_proj_weight (3E, E) and
    in_proj_bias (3E,) (or q/k/v_proj_weight when kdim/vdim differ from embed_dim),
    out_proj (Linear E -> E), bias_k/bias_v (1, 1, E) with add_bias_kv.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (output, weights or None).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ArgumentValueError(f"MultiheadAttention: embed_dim and num_heads must be "
                                     f"greater than 0, got embed_dim={embed_dim} and "
                                     f"num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ArgumentValueError(f"MultiheadAttention: embed_dim must be divisible by "
                                     f"num_heads, got embed_dim={embed_dim} and "
                                     f"num_heads={num_heads}")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty(3 * embed_dim, embed_dim, dtype=dtype)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = _empty(embed_dim, embed_dim, dtype=dtype)
            self.k_proj_weight = _empty(embed_dim, self.kdim, dtype=dtype)
            self.v_proj_weight = _empty(embed_dim, self.vdim, dtype=dtype)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _empty(3 * embed_dim, dtype=dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype)
        if add_bias_kv:
            self.bias_k = _empty(1, 1, embed_dim, dtype=dtype)
            self.bias_v = _empty(1, 1, embed_dim, dtype=dtype)
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()
        if device is not None:
            self.to(device)

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        if self.batch_first and query.ndim == 3:
            # transpose each distinct tensor once, so that self-attention stays recognisable
            q = CF.transpose(query, 0, 1)
            k = q if key is query else CF.transpose(key, 0, 1)
            v = k if value is key else (q if value is query else CF.transpose(value, 0, 1))
            query, key, value = q, k, v
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if self.batch_first and query.ndim == 3:
            out = CF.transpose(out, 0, 1)
        return out, weights


__all__ = ["MultiheadAttention", "multi_head_attention_forward", "scaled_dot_product_attention"]
