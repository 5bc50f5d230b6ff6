"""Attention, Transformer, packed sequences, PyTorch's import paths and small torch.* names,
checked against real PyTorch: the same weights (copied through state_dict), the same
inputs, then outputs and the gradients of inputs and parameters compared."""
import importlib

import numpy as np
import pytest
import torch

import compgraph as cg
import compgraph.nn.functional as CF
import compgraph.nn.utils.rnn as CR
import torch.nn.functional as TF
import torch.nn.utils.rnn as TR
from compgraph.errors import CompgraphError

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape)


def pair(a, requires_grad=True):
    """The same array as a torch and a compgraph tensor (float arrays require grad)."""
    a = np.asarray(a)
    rg = requires_grad and a.dtype.kind == "f"
    return torch.tensor(a, requires_grad=rg), cg.tensor(a, requires_grad=rg)


def copy_weights(tm, cm):
    """Load torch module tm's state_dict into compgraph module cm (keys must match exactly)."""
    assert list(tm.state_dict()) == list(cm.state_dict())
    cm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def close(t, c, atol):
    t = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    c = c.detach().numpy() if isinstance(c, cg.Tensor) else np.asarray(c)
    assert t.shape == c.shape, (t.shape, c.shape)
    assert t.dtype == c.dtype, (t.dtype, c.dtype)
    np.testing.assert_allclose(c, t, atol=atol, rtol=0)


def backward_both(t_out, c_out):
    """Backpropagate the same loss (a weighted sum of squares) through both."""
    w = randn(*t_out.shape)
    (t_out ** 2 * torch.tensor(w, dtype=t_out.dtype)).sum().backward()
    (c_out ** 2 * cg.tensor(w, dtype=c_out.dtype)).sum().backward()


def grads_close(t_tensors, c_tensors, atol):
    for t, c in zip(t_tensors, c_tensors):
        if t.grad is None:
            assert c.grad is None or not np.any(c.grad.numpy())
        else:
            close(t.grad, c.grad, atol)


def param_grads_close(tm, cm, atol):
    cp = dict(cm.named_parameters())
    assert set(cp) == {n for n, _ in tm.named_parameters()}
    for n, p in tm.named_parameters():
        close(p.grad, cp[n].grad, atol)


def both_raise(t_fn, c_fn, match):
    """PyTorch raises on this input, and compgraph raises its own clear error."""
    with pytest.raises(Exception):
        t_fn()
    with pytest.raises(CompgraphError, match=match):
        c_fn()


# --- scaled_dot_product_attention -----------------------------------------------------------

def _bool_mask(*shape, dead_row=False):
    m = RNG.random(shape) > 0.3
    m[..., 0] = True                         # every row sees at least one key
    if dead_row:
        m[..., 1, :] = False                 # except row 1: nothing to attend to
    return m


SDPA_CASES = {
    "plain": dict(),
    "bool_mask": dict(mask=lambda L, S: _bool_mask(L, S)),
    "bool_mask_per_head": dict(mask=lambda L, S: _bool_mask(2, 3, L, S)),
    "float_mask": dict(mask=lambda L, S: randn(L, S)),
    "causal": dict(is_causal=True),
    "scale": dict(scale=0.3),
    "fully_masked_row": dict(mask=lambda L, S: _bool_mask(L, S, dead_row=True)),
    "dropout_p_0": dict(dropout_p=0.0),
}


@pytest.mark.parametrize("name", SDPA_CASES)
@pytest.mark.parametrize("L,S", [(4, 4), (3, 5), (5, 3)])
def test_sdpa_matches_torch(name, L, S):
    case = SDPA_CASES[name]
    tq, cq = pair(randn(2, 3, L, 4))
    tk, ck = pair(randn(2, 3, S, 4))
    tv, cv = pair(randn(2, 3, S, 6))
    kw = {k: case[k] for k in ("is_causal", "scale", "dropout_p") if k in case}
    tkw, ckw = dict(kw), dict(kw)
    if "mask" in case:
        tkw["attn_mask"], ckw["attn_mask"] = pair(case["mask"](L, S), requires_grad=False)
    t = TF.scaled_dot_product_attention(tq, tk, tv, **tkw)
    c = CF.scaled_dot_product_attention(cq, ck, cv, **ckw)
    close(t, c, 1e-12)
    backward_both(t, c)
    grads_close((tq, tk, tv), (cq, ck, cv), 1e-12)


def test_sdpa_float32_and_unbatched():
    tq, cq = pair(randn(5, 8).astype(np.float32), False)
    t = TF.scaled_dot_product_attention(tq, tq, tq, is_causal=True)
    c = CF.scaled_dot_product_attention(cq, cq, cq, is_causal=True)
    close(t, c, 1e-5)


def test_sdpa_learned_float_mask_gets_its_gradient():
    tq, cq = pair(randn(2, 4, 3))
    tm, cm = pair(randn(4, 4))
    t = TF.scaled_dot_product_attention(tq, tq, tq, attn_mask=tm)
    c = CF.scaled_dot_product_attention(cq, cq, cq, attn_mask=cm)
    backward_both(t, c)
    grads_close((tq, tm), (cq, cm), 1e-12)


def test_sdpa_grouped_query_attention():
    tq, cq = pair(randn(1, 4, 3, 2))
    tk, ck = pair(randn(1, 2, 5, 2))
    tv, cv = pair(randn(1, 2, 5, 2))
    t = TF.scaled_dot_product_attention(tq, tk, tv, enable_gqa=True)
    c = CF.scaled_dot_product_attention(cq, ck, cv, enable_gqa=True)
    close(t, c, 1e-12)
    backward_both(t, c)
    grads_close((tq, tk, tv), (cq, ck, cv), 1e-12)


def test_sdpa_dropout_one_drops_every_weight():
    tq, cq = pair(randn(2, 3, 4), False)
    close(TF.scaled_dot_product_attention(tq, tq, tq, dropout_p=1.0),
          CF.scaled_dot_product_attention(cq, cq, cq, dropout_p=1.0), 0)


@pytest.mark.parametrize("shapes,match", [
    (((2, 3, 4), (2, 3, 5), (2, 3, 5)), "same last dimension"),
    (((2, 3, 4), (2, 5, 4), (2, 6, 4)), "same sequence length"),
])
def test_sdpa_bad_shapes_raise(shapes, match):
    t = [torch.zeros(s) for s in shapes]
    c = [cg.zeros(*s) for s in shapes]
    both_raise(lambda: TF.scaled_dot_product_attention(*t),
               lambda: CF.scaled_dot_product_attention(*c), match)


def test_sdpa_refuses_a_mask_together_with_is_causal():
    tq, cq = pair(randn(2, 3, 4))
    tm, cm = pair(randn(3, 3), False)
    both_raise(lambda: TF.scaled_dot_product_attention(tq, tq, tq, attn_mask=tm, is_causal=True),
               lambda: CF.scaled_dot_product_attention(cq, cq, cq, attn_mask=cm, is_causal=True),
               "not both")


def test_sdpa_float_mask_of_another_dtype_raises():
    tq, cq = pair(randn(2, 3, 4).astype(np.float32), False)
    both_raise(lambda: TF.scaled_dot_product_attention(
                   tq, tq, tq, attn_mask=torch.zeros(3, 3, dtype=torch.float64)),
               lambda: CF.scaled_dot_product_attention(
                   cq, cq, cq, attn_mask=cg.zeros(3, 3, dtype=cg.float64)), "dtype")


def test_sdpa_mask_that_does_not_broadcast_raises():
    tq, cq = pair(randn(2, 3, 4), False)
    tm, cm = pair(np.ones((3, 2), bool), False)
    both_raise(lambda: TF.scaled_dot_product_attention(tq, tq, tq, attn_mask=tm),
               lambda: CF.scaled_dot_product_attention(cq, cq, cq, attn_mask=cm), "broadcast")


# --- MultiheadAttention ---------------------------------------------------------------------

MHA_CASES = {
    "self": dict(),
    "batch_first": dict(module=dict(batch_first=True)),
    "no_bias": dict(module=dict(bias=False)),
    "kdim_vdim": dict(module=dict(kdim=3, vdim=5), cross=True),
    "cross": dict(cross=True),
    "bias_kv_zero_attn": dict(module=dict(add_bias_kv=True, add_zero_attn=True), cross=True),
    "kpm_bool": dict(kpm="bool"),
    "kpm_float": dict(kpm="float"),
    "mask_bool": dict(mask="bool"),
    "mask_float": dict(mask="float"),
    "mask_3d": dict(mask="3d"),
    "masks_both_bool": dict(mask="bool", kpm="bool", module=dict(batch_first=True)),
    "masks_bias_kv": dict(mask="float", kpm="float", module=dict(add_bias_kv=True), cross=True),
    "no_weights": dict(call=dict(need_weights=False), kpm="bool", mask="float"),
    "per_head_weights": dict(call=dict(average_attn_weights=False), mask="bool"),
    "causal_hint": dict(call=dict(need_weights=False, is_causal=True), mask="causal"),
    "eval_with_dropout": dict(module=dict(dropout=0.3), eval=True, kpm="bool"),
    "unbatched": dict(unbatched=True, mask="3d", kpm="bool"),
}


def _mha_inputs(case, E, heads, L, S, N):
    m = case.get("module", {})
    kd, vd = m.get("kdim", E), m.get("vdim", E)
    bf = m.get("batch_first", False)
    unb = case.get("unbatched", False)

    def shape(n, e):
        if unb:
            return (n, e)
        return (N, n, e) if bf else (n, N, e)
    q = randn(*shape(L, E))
    if case.get("cross"):
        k, v = randn(*shape(S, kd)), randn(*shape(S, vd))
    else:
        S, k, v = L, None, None
    masks = {}
    if "kpm" in case:
        kpm = RNG.random((S,) if unb else (N, S)) > 0.6
        kpm[..., 0] = False
        masks["key_padding_mask"] = kpm if case["kpm"] == "bool" else np.where(kpm, -2.5, 0.0)
    kind = case.get("mask")
    if kind == "bool":
        masks["attn_mask"] = ~_bool_mask(L, S)
    elif kind == "float":
        masks["attn_mask"] = randn(L, S)
    elif kind == "3d":
        masks["attn_mask"] = randn(heads if unb else N * heads, L, S)
    elif kind == "causal":
        masks["attn_mask"] = np.triu(np.full((L, S), -np.inf), 1)
    return q, k, v, masks


@pytest.mark.parametrize("name", MHA_CASES)
def test_multihead_attention_matches_torch(name):
    case = MHA_CASES[name]
    E, heads, L, S, N = 6, 3, 4, 5, 2
    tm = torch.nn.MultiheadAttention(E, heads, **case.get("module", {})).double()
    cm = cg.nn.MultiheadAttention(E, heads, **case.get("module", {})).double()
    copy_weights(tm, cm)
    if case.get("eval"):
        tm.eval(), cm.eval()
    q, k, v, masks = _mha_inputs(case, E, heads, L, S, N)
    tq, cq = pair(q)
    if k is None:
        targs, cargs, t_in, c_in = (tq, tq, tq), (cq, cq, cq), [tq], [cq]
    else:
        (tk, ck), (tv, cv) = pair(k), pair(v)
        targs, cargs, t_in, c_in = (tq, tk, tv), (cq, ck, cv), [tq, tk, tv], [cq, ck, cv]
    tkw = {n: torch.tensor(m) for n, m in masks.items()}
    ckw = {n: cg.tensor(m) for n, m in masks.items()}
    call = case.get("call", {})
    to, tw = tm(*targs, **tkw, **call)
    co, cw = cm(*cargs, **ckw, **call)
    close(to, co, 1e-12)
    if tw is None:
        assert cw is None
    else:
        close(tw, cw, 1e-12)
    backward_both(to, co)
    grads_close(t_in, c_in, 1e-12)
    param_grads_close(tm, cm, 1e-12)


def test_multihead_attention_float32():
    tm, cm = torch.nn.MultiheadAttention(8, 2), cg.nn.MultiheadAttention(8, 2)
    copy_weights(tm, cm)
    tq, cq = (x.float() for x in pair(randn(5, 3, 8), False))
    to, tw = tm(tq, tq, tq)
    co, cw = cm(cq, cq, cq)
    close(to, co, 1e-5)
    close(tw, cw, 1e-5)


def test_multihead_attention_parameters_and_init_as_torch():
    for kw in (dict(), dict(kdim=3, vdim=5, add_bias_kv=True), dict(bias=False)):
        tm, cm = torch.nn.MultiheadAttention(4, 2, **kw), cg.nn.MultiheadAttention(4, 2, **kw)
        assert list(tm.state_dict()) == list(cm.state_dict())
        for (tn, tp), (cn, cp) in zip(tm.named_parameters(), cm.named_parameters()):
            assert tn == cn and tuple(tp.shape) == tuple(cp.shape)
        if kw.get("bias", True):                  # biases start at zero, as PyTorch's
            assert not np.any(cm.in_proj_bias.detach().numpy())
            assert not np.any(cm.out_proj.bias.detach().numpy())
        assert type(cm.out_proj).__name__ == type(tm.out_proj).__name__


def test_multihead_attention_fully_masked_rows_as_torch():
    """need_weights=True gives NaN rows (PyTorch's softmax), need_weights=False zeros."""
    tm, cm = torch.nn.MultiheadAttention(4, 2).double(), cg.nn.MultiheadAttention(4, 2).double()
    copy_weights(tm, cm)
    tx, cx = pair(randn(3, 2, 4), False)
    kpm = np.array([[True] * 3, [False] * 3])
    for need in (True, False):
        to, _ = tm(tx, tx, tx, key_padding_mask=torch.tensor(kpm), need_weights=need)
        co, _ = cm(cx, cx, cx, key_padding_mask=cg.tensor(kpm), need_weights=need)
        np.testing.assert_array_equal(np.isnan(to.detach().numpy()), np.isnan(co.detach().numpy()))
        close(np.nan_to_num(to.detach().numpy()), np.nan_to_num(co.detach().numpy()), 1e-12)


def test_functional_multi_head_attention_forward_matches_torch():
    tm = torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=5).double()
    cm = cg.nn.MultiheadAttention(4, 2, kdim=3, vdim=5).double()
    copy_weights(tm, cm)
    (tq, cq), (tk, ck), (tv, cv) = pair(randn(3, 2, 4)), pair(randn(6, 2, 3)), pair(randn(6, 2, 5))
    kpm = np.zeros((2, 6), bool)
    kpm[1, 4:] = True

    def run(F, m, q, k, v, mask):
        return F.multi_head_attention_forward(
            q, k, v, 4, 2, None, m.in_proj_bias, None, None, False, 0.0, m.out_proj.weight,
            m.out_proj.bias, key_padding_mask=mask, use_separate_proj_weight=True,
            q_proj_weight=m.q_proj_weight, k_proj_weight=m.k_proj_weight,
            v_proj_weight=m.v_proj_weight, average_attn_weights=False)
    to, tw = run(TF, tm, tq, tk, tv, torch.tensor(kpm))
    co, cw = run(CF, cm, cq, ck, cv, cg.tensor(kpm))
    close(to, co, 1e-12)
    close(tw, cw, 1e-12)
    backward_both(to, co)
    grads_close((tq, tk, tv), (cq, ck, cv), 1e-12)
    param_grads_close(tm, cm, 1e-12)


def test_multihead_attention_compiled_reads_each_calls_masks():
    """compile() replays the attention with the masks of each call, not the traced ones."""
    tm, cm = torch.nn.MultiheadAttention(4, 2).double(), cg.nn.MultiheadAttention(4, 2).double()
    copy_weights(tm, cm)
    step = cg.compile(lambda x, kpm, am: cm(x, x, x, key_padding_mask=kpm, attn_mask=am,
                                            need_weights=False)[0])
    tx, cx = pair(randn(3, 2, 4), False)
    for trial in range(3):
        kpm = RNG.random((2, 3)) > 0.5
        kpm[trial % 2] = True                        # one batch row sees nothing at all
        am = RNG.random((3, 3)) > 0.7
        t = tm(tx, tx, tx, key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(am),
               need_weights=False)[0]
        close(t, step(cx, cg.tensor(kpm), cg.tensor(am)), 1e-12)


def test_multihead_attention_dropout_in_training_as_torch():
    """Training mode drops attention weights at rate p and scales the rest by 1/(1-p)."""
    p = 0.4
    tm, cm = torch.nn.MultiheadAttention(4, 1, dropout=p), cg.nn.MultiheadAttention(4, 1, dropout=p)
    copy_weights(tm, cm)
    tx, cx = pair(randn(60, 8, 4).astype(np.float32), False)
    t_eval = tm.eval()(tx, tx, tx)[1].detach().numpy()
    c_eval = cm.eval()(cx, cx, cx)[1].detach().numpy()
    close(t_eval, c_eval, 1e-5)
    t_train = tm.train()(tx, tx, tx)[1].detach().numpy()
    c_train = cm.train()(cx, cx, cx)[1].detach().numpy()
    for train in (t_train, c_train):
        kept = train != 0
        assert abs(kept.mean() - (1 - p)) < 0.02
        np.testing.assert_allclose(train[kept], t_eval[kept] / (1 - p), rtol=1e-4)


def test_multihead_attention_bad_inputs_raise():
    both_raise(lambda: torch.nn.MultiheadAttention(5, 2), lambda: cg.nn.MultiheadAttention(5, 2),
               "divisible")
    tm, cm = torch.nn.MultiheadAttention(4, 2), cg.nn.MultiheadAttention(4, 2)
    tx, cx = torch.zeros(3, 2, 4), cg.zeros(3, 2, 4)
    t5, c5 = torch.zeros(3, 2, 5), cg.zeros(3, 2, 5)
    both_raise(lambda: tm(t5, t5, t5), lambda: cm(c5, c5, c5), "embedding dimension of 4")
    both_raise(lambda: tm(tx, tx, tx, attn_mask=torch.zeros(2, 2)),
               lambda: cm(cx, cx, cx, attn_mask=cg.zeros(2, 2)), r"should be \(3, 3\)")
    both_raise(lambda: tm(tx, tx, tx, attn_mask=torch.zeros(3, 3, 3)),
               lambda: cm(cx, cx, cx, attn_mask=cg.zeros(3, 3, 3)), r"should be \(4, 3, 3\)")
    both_raise(lambda: tm(tx, tx, tx, key_padding_mask=torch.zeros(3, 3, dtype=torch.bool)),
               lambda: cm(cx, cx, cx, key_padding_mask=cg.zeros(3, 3, dtype=cg.bool)),
               "key_padding_mask")
    both_raise(lambda: tm(tx, tx, tx, is_causal=True), lambda: cm(cx, cx, cx, is_causal=True),
               "attn_mask")
    both_raise(lambda: tm(tx, tx, tx, attn_mask=torch.zeros(3, 3, dtype=torch.int64)),
               lambda: cm(cx, cx, cx, attn_mask=cg.zeros(3, 3, dtype=cg.int64)), "bool and float")
    both_raise(lambda: tm(tx, tx, tx, key_padding_mask=torch.zeros(2, 3, dtype=torch.float64)),
               lambda: cm(cx, cx, cx, key_padding_mask=cg.zeros(2, 3, dtype=cg.float64)),
               "query's dtype")
    both_raise(lambda: tm(tx, torch.zeros(3, 2, 4), torch.zeros(4, 2, 4)),
               lambda: cm(cx, cg.zeros(3, 2, 4), cg.zeros(4, 2, 4)), "does not match")


# --- Transformer ----------------------------------------------------------------------------

def _square_mask(kind, n):
    if kind == "causal":
        return np.triu(np.full((n, n), -np.inf), 1)
    if kind == "bool":
        return np.triu(np.ones((n, n), bool), 1)
    return randn(n, n)


def _run_module(tm, cm, t_args, c_args, kw_t, kw_c, atol=1e-12):
    to, co = tm(*t_args, **kw_t), cm(*c_args, **kw_c)
    close(to, co, atol)
    backward_both(to, co)
    grads_close(t_args, c_args, atol)
    param_grads_close(tm, cm, atol)


ENCODER_CASES = {
    "post_norm_relu": dict(),
    "pre_norm_gelu": dict(norm_first=True, activation="gelu"),
    "callable_activation": dict(activation=(TF.silu, CF.silu)),
    "module_activation": dict(activation=(torch.nn.Tanh(), cg.nn.Tanh())),
    "batch_first": dict(batch_first=True),
    "no_bias": dict(bias=False),
    "eval_default_dropout": dict(dropout=0.1, eval=True),
}


@pytest.mark.parametrize("mask", [None, "causal", "bool", "float"])
@pytest.mark.parametrize("name", ENCODER_CASES)
def test_transformer_encoder_layer_matches_torch(name, mask):
    kw = dict(ENCODER_CASES[name])
    ev = kw.pop("eval", False)
    kw.setdefault("dropout", 0.0)
    act = kw.pop("activation", "relu")
    t_act, c_act = act if isinstance(act, tuple) else (act, act)
    tm = torch.nn.TransformerEncoderLayer(6, 2, 10, activation=t_act, **kw).double()
    cm = cg.nn.TransformerEncoderLayer(6, 2, 10, activation=c_act, **kw).double()
    copy_weights(tm, cm)
    if ev:
        tm.eval(), cm.eval()
    L, N = 5, 3
    bf = kw.get("batch_first", False)
    tx, cx = pair(randn(N, L, 6) if bf else randn(L, N, 6))
    kpm = np.zeros((N, L), bool)
    kpm[1, 3:] = True
    kw_t = {"src_key_padding_mask": torch.tensor(kpm)}
    kw_c = {"src_key_padding_mask": cg.tensor(kpm)}
    if mask is not None:
        m = _square_mask(mask, L)
        kw_t["src_mask"], kw_c["src_mask"] = torch.tensor(m), cg.tensor(m)
    _run_module(tm, cm, (tx,), (cx,), kw_t, kw_c)


def test_transformer_layers_take_unbatched_input_as_torch():
    tm = torch.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0).double()
    cm = cg.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0).double()
    copy_weights(tm, cm)
    tx, cx = pair(randn(5, 4))
    kpm = np.array([False, False, False, True, True])
    m = _square_mask("causal", 5)
    _run_module(tm, cm, (tx,), (cx,),
                dict(src_mask=torch.tensor(m), src_key_padding_mask=torch.tensor(kpm)),
                dict(src_mask=cg.tensor(m), src_key_padding_mask=cg.tensor(kpm)))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_decoder_layer_matches_torch(norm_first):
    tm = torch.nn.TransformerDecoderLayer(6, 3, 8, dropout=0.0, norm_first=norm_first).double()
    cm = cg.nn.TransformerDecoderLayer(6, 3, 8, dropout=0.0, norm_first=norm_first).double()
    copy_weights(tm, cm)
    (tt, ct), (tmem, cmem) = pair(randn(4, 2, 6)), pair(randn(5, 2, 6))
    kpm = np.zeros((2, 5), bool)
    kpm[0, 4] = True
    tgt_kpm = np.zeros((2, 4), bool)
    tgt_kpm[1, 3] = True
    mm = randn(4, 5)
    kw = dict(tgt_mask=_square_mask("causal", 4), memory_mask=mm, memory_key_padding_mask=kpm,
              tgt_key_padding_mask=tgt_kpm)
    _run_module(tm, cm, (tt, tmem), (ct, cmem), {k: torch.tensor(v) for k, v in kw.items()},
                {k: cg.tensor(v) for k, v in kw.items()})


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_stacks_match_torch(batch_first):
    t_layer = torch.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=batch_first)
    c_layer = cg.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=batch_first)
    tm = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(4),
                                     enable_nested_tensor=False).double()
    cm = cg.nn.TransformerEncoder(c_layer, 2, norm=cg.nn.LayerNorm(4)).double()
    copy_weights(tm, cm)
    tx, cx = pair(randn(3, 5, 4))
    m = _square_mask("causal", 5 if batch_first else 3)
    _run_module(tm, cm, (tx,), (cx,), {"mask": torch.tensor(m)}, {"mask": cg.tensor(m)})

    t_dl = torch.nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0, batch_first=batch_first)
    c_dl = cg.nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0, batch_first=batch_first)
    td = torch.nn.TransformerDecoder(t_dl, 2).double()
    cd = cg.nn.TransformerDecoder(c_dl, 2).double()
    copy_weights(td, cd)
    (tt, ct), (tmem, cmem) = pair(randn(3, 5, 4)), pair(randn(3, 5, 4))
    _run_module(td, cd, (tt, tmem), (ct, cmem), {"tgt_mask": torch.tensor(m)},
                {"tgt_mask": cg.tensor(m)})


def test_stacks_hold_deep_copies_of_the_layer():
    layer = cg.nn.TransformerEncoderLayer(4, 2, 8)
    enc = cg.nn.TransformerEncoder(layer, 2)
    a, b = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    assert a is not b and a is not layer.linear1.weight
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True)])
def test_transformer_matches_torch(batch_first, norm_first):
    kw = dict(d_model=6, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
              dim_feedforward=8, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    tm, cm = torch.nn.Transformer(**kw).double(), cg.nn.Transformer(**kw).double()
    copy_weights(tm, cm)
    S, T, N = 5, 4, 2
    src = randn(N, S, 6) if batch_first else randn(S, N, 6)
    tgt = randn(N, T, 6) if batch_first else randn(T, N, 6)
    (ts, cs), (tt, ct) = pair(src), pair(tgt)
    kpm = np.zeros((N, S), bool)
    kpm[0, 3:] = True
    kw_np = dict(tgt_mask=tm.generate_square_subsequent_mask(T).double().numpy(),
                 src_key_padding_mask=kpm, memory_key_padding_mask=kpm)
    _run_module(tm, cm, (ts, tt), (cs, ct), {k: torch.tensor(v) for k, v in kw_np.items()},
                {k: cg.tensor(v) for k, v in kw_np.items()})


def test_transformer_initialisation_is_xavier_on_matrices():
    cm = cg.nn.Transformer(8, 2, 1, 1, 16)
    w = cm.encoder.layers[0].linear1.weight.detach().numpy()          # (16, 8)
    bound = np.sqrt(6 / (8 + 16))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert not np.any(cm.encoder.layers[0].self_attn.in_proj_bias.detach().numpy())


@pytest.mark.parametrize("sz,dtype", [(1, None), (4, None), (3, "float64")])
def test_generate_square_subsequent_mask_as_torch(sz, dtype):
    t = torch.nn.Transformer.generate_square_subsequent_mask(
        sz, dtype=None if dtype is None else getattr(torch, dtype))
    c = cg.nn.Transformer.generate_square_subsequent_mask(
        sz, dtype=None if dtype is None else getattr(cg, dtype))
    close(t, c, 0)


def test_transformer_bad_inputs_raise():
    tm, cm = torch.nn.Transformer(4, 2, 1, 1, 8), cg.nn.Transformer(4, 2, 1, 1, 8)
    both_raise(lambda: tm(torch.zeros(3, 2, 4), torch.zeros(3, 3, 4)),
               lambda: cm(cg.zeros(3, 2, 4), cg.zeros(3, 3, 4)), "batch number")
    both_raise(lambda: tm(torch.zeros(3, 2, 4), torch.zeros(3, 2, 5)),
               lambda: cm(cg.zeros(3, 2, 4), cg.zeros(3, 2, 5)), "feature number")
    both_raise(lambda: torch.nn.TransformerEncoderLayer(4, 2, activation="tanh"),
               lambda: cg.nn.TransformerEncoderLayer(4, 2, activation="tanh"), "relu/gelu")
    both_raise(lambda: torch.nn.TransformerDecoderLayer(6, 4),
               lambda: cg.nn.TransformerDecoderLayer(6, 4), "divisible")


# --- nn.utils.rnn ----------------------------------------------------------------------------

LENGTHS = [3, 5, 1, 5, 2]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, padding_side):
    seqs = [pair(randn(n, 2, 3)) for n in LENGTHS]
    t = TR.pad_sequence([s[0] for s in seqs], batch_first=batch_first, padding_value=-1.5,
                        padding_side=padding_side)
    c = CR.pad_sequence([s[1] for s in seqs], batch_first=batch_first, padding_value=-1.5,
                        padding_side=padding_side)
    close(t, c, 0)
    backward_both(t, c)
    grads_close([s[0] for s in seqs], [s[1] for s in seqs], 1e-12)


def _same_packed(tp, cp):
    close(tp.data, cp.data, 1e-12)
    close(tp.batch_sizes, cp.batch_sizes, 0)
    for a, b in ((tp.sorted_indices, cp.sorted_indices),
                 (tp.unsorted_indices, cp.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            close(a, b, 0)


@pytest.mark.parametrize("lengths,enforce_sorted", [
    ([5, 5, 3, 2, 1], True), (LENGTHS, False), ([2, 4, 2, 2, 4], False), ([1], True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_packed_match_torch(lengths, enforce_sorted, batch_first):
    B, T = len(lengths), max(lengths)
    tx, cx = pair(randn(B, T + 1, 3) if batch_first else randn(T + 1, B, 3))
    tl, cl = torch.tensor(lengths), cg.tensor(lengths)
    tp = TR.pack_padded_sequence(tx, tl, batch_first=batch_first, enforce_sorted=enforce_sorted)
    cp = CR.pack_padded_sequence(cx, cl, batch_first=batch_first, enforce_sorted=enforce_sorted)
    assert isinstance(cp, CR.PackedSequence) and isinstance(cp, tuple)
    _same_packed(tp, cp)
    for total in (None, T + 2):
        tpad, tlen = TR.pad_packed_sequence(tp, batch_first=batch_first, padding_value=0.5,
                                            total_length=total)
        cpad, clen = CR.pad_packed_sequence(cp, batch_first=batch_first, padding_value=0.5,
                                            total_length=total)
        close(tpad, cpad, 0)
        close(tlen, clen, 0)
    backward_both(tpad, cpad)
    grads_close([tx], [cx], 1e-12)


def test_pack_sequence_unpack_and_unpad_match_torch():
    seqs = [pair(randn(n, 2)) for n in LENGTHS]
    tp = TR.pack_sequence([s[0] for s in seqs], enforce_sorted=False)
    cp = CR.pack_sequence([s[1] for s in seqs], enforce_sorted=False)
    _same_packed(tp, cp)
    for t, c in zip(TR.unpack_sequence(tp), CR.unpack_sequence(cp)):
        close(t, c, 0)
    tpad = TR.pad_sequence([s[0] for s in seqs], batch_first=True)
    cpad = CR.pad_sequence([s[1] for s in seqs], batch_first=True)
    for t, c in zip(TR.unpad_sequence(tpad, torch.tensor(LENGTHS), batch_first=True),
                    CR.unpad_sequence(cpad, cg.tensor(LENGTHS), batch_first=True)):
        close(t, c, 0)


def test_rnn_utils_bad_inputs_raise():
    seqs_t = [torch.ones(3), torch.ones(2)]
    seqs_c = [cg.ones(3), cg.ones(2)]
    both_raise(lambda: TR.pack_sequence(seqs_t[::-1]), lambda: CR.pack_sequence(seqs_c[::-1]),
               "sorted in decreasing order")
    both_raise(lambda: TR.pack_padded_sequence(torch.zeros(3, 2), [3, 0]),
               lambda: CR.pack_padded_sequence(cg.zeros(3, 2), [3, 0]), "greater than 0")
    both_raise(lambda: TR.pack_padded_sequence(torch.zeros(3, 2), [3]),
               lambda: CR.pack_padded_sequence(cg.zeros(3, 2), [3]), "batch size")
    both_raise(lambda: TR.pad_packed_sequence(TR.pack_sequence(seqs_t), total_length=2),
               lambda: CR.pad_packed_sequence(CR.pack_sequence(seqs_c), total_length=2),
               "total_length")
    both_raise(lambda: TR.pad_sequence([]), lambda: CR.pad_sequence([]), "empty")
    both_raise(lambda: TR.pad_sequence([torch.ones(2, 3), torch.ones(1, 4)]),
               lambda: CR.pad_sequence([cg.ones(2, 3), cg.ones(1, 4)]), "shape")


RNN_CASES = [("LSTM", {}), ("LSTM", dict(num_layers=2, bidirectional=True)),
             ("LSTM", dict(bias=False)), ("GRU", {}),
             ("GRU", dict(num_layers=2, bidirectional=True)),
             ("RNN", {}), ("RNN", dict(nonlinearity="relu", bidirectional=True)),
             ("RNN", dict(num_layers=3))]


@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
@pytest.mark.parametrize("kind,kw", RNN_CASES)
def test_recurrent_layers_take_packed_sequences_as_torch(kind, kw, enforce_sorted, with_hx):
    tm, cm = getattr(torch.nn, kind)(3, 4, **kw).double(), getattr(cg.nn, kind)(3, 4, **kw).double()
    copy_weights(tm, cm)
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    seqs = [pair(randn(n, 3)) for n in lengths]
    tp = TR.pack_sequence([s[0] for s in seqs], enforce_sorted=enforce_sorted)
    cp = CR.pack_sequence([s[1] for s in seqs], enforce_sorted=enforce_sorted)
    n = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    t_h, c_h = [], []
    if with_hx:
        for _ in range(2 if kind == "LSTM" else 1):
            a, b = pair(randn(n, len(lengths), 4))
            t_h.append(a), c_h.append(b)
    t_hx = None if not with_hx else (tuple(t_h) if kind == "LSTM" else t_h[0])
    c_hx = None if not with_hx else (tuple(c_h) if kind == "LSTM" else c_h[0])
    to, t_state = tm(tp, t_hx)
    co, c_state = cm(cp, c_hx)
    assert isinstance(co, CR.PackedSequence)
    _same_packed(to, co)
    t_state = t_state if isinstance(t_state, tuple) else (t_state,)
    c_state = c_state if isinstance(c_state, tuple) else (c_state,)
    for a, b in zip(t_state, c_state):
        close(a, b, 1e-12)
    w = randn(*t_state[0].shape)
    ((to.data ** 2).sum() + (t_state[-1] * torch.tensor(w)).sum()).backward()
    ((co.data ** 2).sum() + (c_state[-1] * cg.tensor(w)).sum()).backward()
    grads_close([s[0] for s in seqs] + t_h, [s[1] for s in seqs] + c_h, 1e-12)
    param_grads_close(tm, cm, 1e-12)


def test_packed_lstm_float32_batch_first_round_trip():
    tm, cm = torch.nn.LSTM(3, 4, batch_first=True), cg.nn.LSTM(3, 4, batch_first=True)
    copy_weights(tm, cm)
    x = randn(4, 6, 3).astype(np.float32)
    lengths = [6, 2, 4, 1]
    tp = TR.pack_padded_sequence(torch.tensor(x), lengths, batch_first=True, enforce_sorted=False)
    cp = CR.pack_padded_sequence(cg.tensor(x), lengths, batch_first=True, enforce_sorted=False)
    (to, (th, tc)), (co, (ch, cc)) = tm(tp), cm(cp)
    close(TR.pad_packed_sequence(to, batch_first=True)[0],
          CR.pad_packed_sequence(co, batch_first=True)[0], 1e-5)
    close(th, ch, 1e-5)
    close(tc, cc, 1e-5)


def test_packed_initial_state_of_wrong_shape_raises():
    tm, cm = torch.nn.GRU(3, 4), cg.nn.GRU(3, 4)
    tp = TR.pack_sequence([torch.ones(2, 3), torch.ones(1, 3)])
    cp = CR.pack_sequence([cg.ones(2, 3), cg.ones(1, 3)])
    both_raise(lambda: tm(tp, torch.zeros(1, 3, 4)), lambda: cm(cp, cg.zeros(1, 3, 4)),
               "initial state")


# --- PyTorch's import paths ------------------------------------------------------------------

SUBMODULES = ["module", "linear", "activation", "conv", "loss", "rnn", "transformer",
              "normalization", "batchnorm", "dropout", "sparse", "container", "pooling", "flatten"]


@pytest.mark.parametrize("sub", SUBMODULES)
def test_nn_modules_paths_hold_the_nn_classes(sub):
    cmod = importlib.import_module(f"compgraph.nn.modules.{sub}")
    tmod = importlib.import_module(f"torch.nn.modules.{sub}")
    names = cmod.__all__
    assert names, f"compgraph.nn.modules.{sub} re-exports nothing"
    for name in names:
        assert hasattr(tmod, name), f"torch.nn.modules.{sub} has no {name}"
        value = getattr(cmod, name)
        assert value is getattr(cg.nn, name, value)
        assert value is getattr(cg.nn.modules, name)
        assert getattr(cg.nn.modules, sub) is cmod      # reachable as attributes, as PyTorch's
    with pytest.raises(AttributeError):
        cmod.NotAPyTorchName


def test_named_import_paths():
    from compgraph.nn.modules.activation import MultiheadAttention
    from compgraph.nn.modules.linear import Linear
    from compgraph.nn.modules.module import Module
    from compgraph.nn.modules.rnn import LSTM, RNNBase
    from compgraph.nn.modules.transformer import Transformer
    from compgraph.nn.parameter import Parameter
    assert (Linear, Module, MultiheadAttention, LSTM, Transformer, Parameter) == (
        cg.nn.Linear, cg.nn.Module, cg.nn.MultiheadAttention, cg.nn.LSTM, cg.nn.Transformer,
        cg.nn.Parameter)
    assert issubclass(LSTM, RNNBase) and issubclass(cg.nn.GRU, RNNBase)
    assert issubclass(torch.nn.LSTM, torch.nn.modules.rnn.RNNBase)
    assert cg.nn.utils.rnn is CR


def test_utils_data_submodule_paths():
    import compgraph.utils.data as D
    from compgraph.utils.data.dataloader import DataLoader
    from compgraph.utils.data.dataset import Dataset, TensorDataset
    assert (DataLoader, Dataset, TensorDataset) == (D.DataLoader, D.Dataset, D.TensorDataset)
    assert cg.utils.data.dataloader.DataLoader is D.DataLoader
    import torch.utils.data as TD
    for sub in ("dataloader", "dataset", "sampler"):
        cmod = importlib.import_module(f"compgraph.utils.data.{sub}")
        tmod = getattr(TD, sub)
        for name in cmod.__all__:                 # only PyTorch's names, each compgraph's own
            assert hasattr(tmod, name)
            assert getattr(cmod, name) is getattr(D, name, None) or getattr(cmod, name) is \
                getattr(importlib.import_module("compgraph.data"), name)


# --- torch.onnx, torch.accelerator, torch.cuda seeds, legacy constructors ---------------------

def test_onnx_export_raises_a_clear_error():
    import compgraph.onnx
    with pytest.raises(NotImplementedError, match="ONNX"):
        compgraph.onnx.export(cg.nn.Linear(2, 2), (cg.zeros(1, 2),), "/nonexistent/m.onnx")
    assert cg.onnx.is_in_onnx_export() is torch.onnx.is_in_onnx_export() is False


def test_accelerator_as_torch_on_this_machine():
    assert cg.accelerator.is_available() == torch.accelerator.is_available()
    assert cg.accelerator.device_count() == torch.accelerator.device_count()
    if not torch.accelerator.is_available():
        assert cg.accelerator.current_accelerator() is None
        both_raise(torch.accelerator.current_device_index, cg.accelerator.current_device_index,
                   "none is available")


def test_cuda_seeding_without_a_gpu_leaves_the_cpu_stream_alone():
    cg.manual_seed(3)
    a = cg.rand(4).numpy()
    cg.manual_seed(3)
    cg.cuda.manual_seed_all(7)
    cg.cuda.manual_seed(7)
    np.testing.assert_array_equal(a, cg.rand(4).numpy())


LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "ByteTensor", "CharTensor",
          "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_constructors_as_torch(name):
    T, C = getattr(torch, name), getattr(cg, name)
    t, c = T(2, 3), C(2, 3)                               # sizes
    assert tuple(t.shape) == tuple(c.shape) and t.numpy().dtype == c.dtype
    close(T([1, 0, 2]), C([1, 0, 2]), 0)                 # data
    close(T((2, 3)), C((2, 3)), 0)                       # a tuple is data, as in PyTorch
    close(T(), C(), 0)                                   # empty
    close(torch.arange(3.0).type(T), cg.arange(3.0).type(C), 0)      # Tensor.type(X)
    assert isinstance(C([1]), C) and isinstance(T([1]), T)
    other = "LongTensor" if name != "LongTensor" else "FloatTensor"
    assert not isinstance(getattr(cg, other)([1]), C)
    assert not isinstance(getattr(torch, other)([1]), T)
    both_raise(lambda: T(getattr(torch, other)([1])), lambda: C(getattr(cg, other)([1])), "dtype")
    both_raise(lambda: T([1], dtype=torch.float64), lambda: C([1], dtype=cg.float64), "keyword")
    same = C([1, 1])
    assert np.shares_memory(C(same).numpy(), same.numpy())        # an alias, as PyTorch's
