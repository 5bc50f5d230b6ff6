"""compgraph.nn: layers as Modules with PyTorch's names, shapes and initialisations."""
from . import functional, init, utils  # noqa: F401
from .conv import Conv2d, MaxPool2d  # noqa: F401
from .layers import (ELU, GELU, BatchNorm1d, Dropout, Embedding, Flatten, Identity,  # noqa: F401
                     LayerNorm, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus,
                     Tanh)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss,  # noqa: F401
                   NLLLoss)
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential, StateDictError  # noqa: F401
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: F401
