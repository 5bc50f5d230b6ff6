"""The DyNet dialect: DyNet programs run on compgraph with only the import changed.

    import compgraph.dynet as dy          # or: from compgraph.dynet import *
    m = dy.ParameterCollection()
    W = m.add_parameters((8, 4)); b = m.add_parameters(8)
    trainer = dy.SimpleSGDTrainer(m, learning_rate=0.1)
    dy.renew_cg()                          # a fresh lazy graph
    loss = dy.pickneglogsoftmax(W * dy.inputVector(x) + b, gold)
    loss.value(); loss.backward(); trainer.update()

Evaluation is lazy as in DyNet: building computes nothing, value()/forward() compute what
is needed, and the graph lives until the next renew_cg().  With automatic batching on --
dy.renew_cg(autobatching=True), dy.config(autobatch=True), dynet_config.set(autobatch=1)
or --dynet-autobatch 1 on the command line -- the per-example operations of everything
built before a value is asked for run in batches (compgraph.executors.autobatch), forward
and backward; cg().autobatch_report() tells how.
"""
import sys

from ..errors import DeviceError

from ..random import manual_seed
from .expr import *  # noqa: F401,F403
from .expr import _ex, concatenate
from .functions import *  # noqa: F401,F403
from . import expr as _expr_module, functions as _functions_module
from .graph import (BatchedExpression, ComputationGraph, Expression, _Current, cg,  # noqa: F401
                    cg_checkpoint, cg_revert, print_graphviz, print_text_graphviz, renew_cg)
from .lstm_ops import CELL, GATES, HIDDEN
from . import lstm_ops as _lstm_ops
from .lstm_ops import (vanilla_lstm_gates_concat, vanilla_lstm_gates_dropout,  # noqa: F401
                       vanilla_lstm_gates_dropout_concat)
from .params import (ConstInitializer, GlorotInitializer, Initializer, LookupParameters, Model,  # noqa: F401
                     NormalInitializer, NumpyInitializer, ParameterCollection, Parameters,
                     SaxeInitializer, UniformInitializer)
from .rnn import (BiRNNBuilder, GRUBuilder, LSTMBuilder, RNNState, SimpleRNNBuilder,  # noqa: F401
                  VanillaLSTMBuilder)
from .params import FromFileInitializer, IdentityInitializer, PyInitializer  # noqa: F401
from .rnn import (CompactVanillaLSTMBuilder, CoupledLSTMBuilder, FastLSTMBuilder,  # noqa: F401
                  SparseLSTMBuilder)
from .saveload import load, load_generator, save  # noqa: F401
from .softmax_builders import ClassFactoredSoftmaxBuilder, SoftmaxBuilder, StandardSoftmaxBuilder  # noqa: F401
from .trainers import (AdadeltaTrainer, AdagradTrainer, AdamTrainer, AmsgradTrainer,  # noqa: F401
                       CyclicalSGDTrainer, MomentumSGDTrainer, RMSPropTrainer, SimpleSGDTrainer,
                       Trainer)
from ..tensor import apply as _apply

__all__ = sorted(
    [n for m in (_expr_module, _functions_module) for n, v in vars(m).items()
     if callable(v) and not n.startswith("_") and getattr(v, "__module__", "") == m.__name__]
    + ["BatchedExpression", "ComputationGraph", "Expression", "cg", "renew_cg",
       "ConstInitializer", "GlorotInitializer", "Initializer", "LookupParameters", "Model",
       "NormalInitializer", "NumpyInitializer", "ParameterCollection", "Parameters",
       "SaxeInitializer", "UniformInitializer", "BiRNNBuilder", "GRUBuilder", "LSTMBuilder",
       "RNNState", "SimpleRNNBuilder", "VanillaLSTMBuilder", "AdagradTrainer", "AdamTrainer",
       "MomentumSGDTrainer", "SimpleSGDTrainer", "Trainer", "AdadeltaTrainer", "AmsgradTrainer",
       "CyclicalSGDTrainer", "RMSPropTrainer", "vanilla_lstm_gates",
       "vanilla_lstm_c", "vanilla_lstm_h", "config", "dynet_config", "reset_random_seed",
       "cg_version", "DynetParams", "init", "init_from_params", "available_devices",
       "get_device_info", "cg_checkpoint", "cg_revert", "print_graphviz",
       "print_text_graphviz"]
    + ["FromFileInitializer", "IdentityInitializer", "PyInitializer", "CompactVanillaLSTMBuilder",
       "CoupledLSTMBuilder", "FastLSTMBuilder", "SparseLSTMBuilder",
       "ClassFactoredSoftmaxBuilder", "SoftmaxBuilder", "StandardSoftmaxBuilder", "save", "load",
       "load_generator", "vanilla_lstm_gates_concat", "vanilla_lstm_gates_dropout",
       "vanilla_lstm_gates_dropout_concat"])


def vanilla_lstm_gates(x_t, h_tm1, Wx, Wh, b, weightnoise_std=0.0):
    """DyNet's fused LSTM gates: [i f o | g] from x_t (or a list, concatenated) and h_tm1."""
    # with DyNet's +1 forget-gate bias (nodes-lstm.cc), batches too: compgraph/dynet/lstm_ops.py
    return _lstm_ops.vanilla_lstm_gates(x_t, h_tm1, Wx, Wh, b, weightnoise_std)


def vanilla_lstm_c(c_tm1, gates_t):
    return _lstm_ops.vanilla_lstm_c(c_tm1, gates_t)


def vanilla_lstm_h(c_t, gates_t):
    return _lstm_ops.vanilla_lstm_h(c_t, gates_t)



def config(autobatch=None, random_seed=None, **ignored):
    """Process-wide settings, as DyNet's dynet_config.set: autobatch applies to the graphs
    made by later renew_cg() calls; random_seed seeds compgraph's generator."""
    if autobatch is not None:
        _Current.config["autobatch"] = bool(autobatch)
    if random_seed:
        manual_seed(int(random_seed))
    return dict(_Current.config)


class _DynetConfig:
    """`dynet_config.set(autobatch=1)`, for programs written against DyNet's module."""

    @staticmethod
    def set(mem=None, random_seed=None, autobatch=None, profiling=None, weight_decay=None,
            shared_parameters=None, requested_gpus=None, gpu_mask=None, **kw):
        if requested_gpus or gpu_mask:
            _DynetConfig.set_gpu()
        return config(autobatch=autobatch, random_seed=random_seed)

    @staticmethod
    def set_gpu(flag=True):
        if flag:
            raise DeviceError("dynet_config.set_gpu: compgraph.dynet computes on the CPU only (no "
                              "GPU in this dialect yet); drop the call, or set_gpu(False)")

    @staticmethod
    def gpu():
        return False

    @staticmethod
    def get():
        return dict(_Current.config)


dynet_config = _DynetConfig()


class DynetParams:
    """DyNet's start-up settings: set_* then init() (dy.init_from_params(params))."""

    def __init__(self):
        self._settings = {}

    def from_args(self, shared_parameters=None):
        _command_line(sys.argv)

    def from_config(self, conf):
        self._settings.update({k: v for k, v in dict(conf).items() if k in ("autobatch", "random_seed")})
        if conf.get("requested_gpus") or conf.get("gpu_mask"):
            dynet_config.set_gpu()

    def init(self):
        config(**self._settings)

    def set_mem(self, mem): pass                            # noqa: E704  (NumPy allocates)
    def set_profiling(self, profiling): pass                # noqa: E704
    def set_weight_decay(self, weight_decay): pass          # noqa: E704  (see README: not supported)
    def set_shared_parameters(self, shared_parameters): pass  # noqa: E704
    def set_cpu_mode(self): pass                            # noqa: E704
    def set_random_seed(self, random_seed): self._settings["random_seed"] = random_seed  # noqa: E704
    def set_autobatch(self, autobatch): self._settings["autobatch"] = autobatch          # noqa: E704

    def set_requested_gpus(self, requested_gpus):
        if requested_gpus:
            dynet_config.set_gpu()

    def set_gpu_mask(self, gpu_mask):
        if any(gpu_mask):
            dynet_config.set_gpu()


def init(shared_parameters=None):
    """DyNet's init(): read the --dynet-* flags (compgraph.dynet also reads them on import)."""
    _command_line(sys.argv)


def init_from_params(params):
    params.init()


def available_devices():
    return ["CPU"]


def get_device_info(name="CPU"):
    if name != "CPU":
        raise DeviceError(f"get_device_info: no device {name!r}; compgraph.dynet has only 'CPU'")
    return {"name": "CPU", "type": "CPU"}


def reset_random_seed(seed):
    manual_seed(int(seed))


def cg_version():
    return id(cg())


def _command_line(argv):
    """DyNet reads its flags from the command line: --dynet-autobatch N and --dynet-seed N,
    as `--flag N` or `--flag=N`, with '-' or '_' after `dynet` (DyNet accepts all four)."""
    for i, arg in enumerate(argv):
        if not arg.startswith(("--dynet-", "--dynet_")):
            continue
        name, eq, value = arg[len("--dynet-"):].partition("=")
        if not eq:
            value = argv[i + 1] if i + 1 < len(argv) else ""
        name = name.replace("_", "-")
        if name == "autobatch":
            config(autobatch=value.strip() not in ("0", ""))
        elif name == "seed":
            config(random_seed=value)


_command_line(sys.argv)

from . import naming as _naming  # noqa: E402,F401  (errors name the dy function called)
from . import checks as _checks  # noqa: E402  (after every name is defined: it wraps some)
_checks.install(globals())
