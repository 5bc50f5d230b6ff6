"""Small gaps met while running public PyTorch programs with `import compgraph as torch`
(Tensor.type with a legacy type name, the dtype in a tensor's repr, var_mean/std_mean of a
0-d tensor, nn.PReLU at torch.nn.modules.activation), each checked against real PyTorch."""
import numpy as np
import pytest
import torch

import compgraph as cg
import compgraph.nn.functional as CF
import torch.nn.functional as TF

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "ByteTensor", "CharTensor",
          "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]
DTYPES = ["float32", "float64", "float16", "uint8", "int8", "int16", "int32", "int64", "bool"]


@pytest.mark.parametrize("name", LEGACY)
def test_type_converts_to_a_legacy_type_given_by_name_or_class(name):
    a = np.array([0.0, 1.5, -2.0])
    for arg_c, arg_t in ((f"torch.{name}", f"torch.{name}"), (getattr(cg, name), getattr(torch, name))):
        c, t = cg.tensor(a, dtype=cg.float32).type(arg_c), torch.tensor(a, dtype=torch.float32).type(arg_t)
        assert str(c.dtype) == str(t.dtype).replace("torch.", "")
        np.testing.assert_array_equal(c.numpy(), t.numpy())
        assert c.type() == t.type() == f"torch.{name}"


@pytest.mark.parametrize("dt", DTYPES)
def test_type_without_arguments_names_the_legacy_type(dt):
    assert cg.ones(2, dtype=getattr(cg, dt)).type() == torch.ones(2, dtype=getattr(torch, dt)).type()


@pytest.mark.parametrize("dt", DTYPES)
def test_repr_spells_the_dtype_as_pytorch(dt):
    a = np.array([1, 0, 2])
    c, t = cg.tensor(a, dtype=getattr(cg, dt)), torch.tensor(a, dtype=getattr(torch, dt))
    assert repr(c) == repr(t)


def test_repr_hides_the_default_float_dtype_after_set_default_dtype():
    old_c, old_t = cg.get_default_dtype(), torch.get_default_dtype()
    try:
        cg.set_default_dtype(cg.float64)
        torch.set_default_dtype(torch.float64)
        for dt in ("float64", "float32"):
            a = np.array([1.0, 2.0])
            assert repr(cg.tensor(a, dtype=getattr(cg, dt))) == repr(torch.tensor(a, dtype=getattr(torch, dt)))
    finally:
        cg.set_default_dtype(old_c)
        torch.set_default_dtype(old_t)


@pytest.mark.filterwarnings("ignore::UserWarning")   # torch warns of no degrees of freedom
@pytest.mark.parametrize("fn", ["var_mean", "std_mean"])
@pytest.mark.parametrize("dim", [0, -1, None])
@pytest.mark.parametrize("correction", [None, 0])
def test_var_mean_of_a_0d_tensor(fn, dim, correction):
    kw = {} if correction is None else {"correction": correction}
    args = () if dim is None else (dim,)
    c = getattr(cg, fn)(cg.tensor(1.5), *args, **kw)
    t = getattr(torch, fn)(torch.tensor(1.5), *args, **kw)
    for x, y in zip(c, t):
        assert tuple(x.shape) == tuple(y.shape) == ()
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_prelu_module_at_pytorchs_import_path():
    from compgraph.nn.modules.activation import PReLU as CP
    from torch.nn.modules.activation import PReLU as TP
    assert cg.nn.PReLU is CP
    for n, init, shape in ((1, 0.25, (4, 3, 5)), (3, 0.1, (4, 3, 5, 2)), (1, -0.5, (3,)),
                           (1, 0.3, ()), (2, 0.25, (5, 2))):
        cm, tm = CP(n, init), TP(n, init)
        assert repr(cm) == repr(tm)
        assert [k for k, _ in cm.named_parameters()] == [k for k, _ in tm.named_parameters()]
        a = np.random.default_rng(n).standard_normal(shape).astype(np.float32)
        a.reshape(-1)[:2] = 0.0          # the kink: input gradient is the weight's there
        cx, tx = cg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        g = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
        co, to = cm(cx), tm(tx)
        (co * cg.tensor(g)).sum().backward()
        (to * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(co.detach().numpy(), to.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
        np.testing.assert_allclose(cm.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_prelu_weight_that_does_not_fit_the_channels_raises_as_pytorch():
    with pytest.raises(RuntimeError):
        TF.prelu(torch.zeros(2, 4), torch.ones(3))
    with pytest.raises(RuntimeError, match="prelu"):
        CF.prelu(cg.zeros(2, 4), cg.ones(3))
    with pytest.raises(RuntimeError):                 # a 1-d input has one channel
        TF.prelu(torch.zeros(3), torch.ones(3))
    with pytest.raises(RuntimeError, match="prelu"):
        CF.prelu(cg.zeros(3), cg.ones(3))


def test_whole_torch_transformer_loads_before_its_import_path_is_used(tmp_path, monkeypatch):
    """The language-model example saves its nn.Transformer whole; MultiheadAttention's
    out_proj is pickled as torch.nn.modules.linear.NonDynamicallyQuantizableLinear, which
    compgraph finds even when nothing imported compgraph.nn.modules.linear yet."""
    import sys
    monkeypatch.delitem(sys.modules, "compgraph.nn.modules.linear", raising=False)
    torch.manual_seed(0)
    tm = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2,
                                     norm=torch.nn.LayerNorm(8), enable_nested_tensor=False).eval()
    torch.save(tm, tmp_path / "enc.pt")
    cm = cg.load(tmp_path / "enc.pt").eval()
    assert type(cm.layers[0].self_attn.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    x = np.random.default_rng(0).standard_normal((5, 3, 8)).astype(np.float32)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    with torch.no_grad():
        want = tm(torch.tensor(x), mask=mask).numpy()
    got = cm(cg.tensor(x), mask=cg.tensor(mask.numpy())).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
