"""compgraph.nn: layers as Modules with PyTorch's names, shapes and initialisations."""
from . import functional, init, utils  # noqa: F401
from .utils import rnn as _rnn_utils  # noqa: F401  (makes nn.utils.rnn an attribute)
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, MaxPool2d  # noqa: F401
from .layers import (ELU, GELU, BatchNorm1d, BatchNorm2d, Dropout, Dropout2d,  # noqa: F401
                     Embedding, Flatten, Identity, LayerNorm, LeakyReLU, Linear, LogSigmoid,
                     LogSoftmax, Mish, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss,  # noqa: F401
                   L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential, StateDictError  # noqa: F401
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: F401
from .attention import MultiheadAttention  # noqa: F401
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,  # noqa: F401
                          TransformerEncoder, TransformerEncoderLayer)
from . import modules, parameter  # noqa: F401,E402  (torch.nn.modules.linear, ... paths)
from .more_layers import (CELU, SELU, AvgPool3d, Conv3d, ConvTranspose1d,  # noqa: F401,E402
                          ConvTranspose2d, Hardsigmoid, Hardswish, Hardtanh, MaxUnpool2d, PReLU,
                          ReLU6, Softmin, Softsign, Upsample)
