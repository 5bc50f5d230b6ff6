"""torch.nn.modules and its submodules (torch.nn.modules.linear.Linear, ...): PyTorch's
import paths over compgraph.nn.  Each submodule lists the public names PyTorch keeps in it
(PyTorch 2.13's __all__) and finds them in compgraph.nn on first use (compgraph/_reexport.py).
"""
import importlib

from ..._reexport import reexport

NAMES = {
    "module": ["Module"],
    "linear": ["Bilinear", "Identity", "LazyLinear", "Linear", "NonDynamicallyQuantizableLinear"],
    "activation": ["Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid",
                   "Tanh", "SiLU", "Mish", "Hardswish", "ELU", "CELU", "SELU", "GLU", "GELU",
                   "Hardshrink", "LeakyReLU", "LogSigmoid", "Softplus", "Softshrink",
                   "MultiheadAttention", "PReLU", "Softsign", "Tanhshrink", "Softmin", "Softmax",
                   "Softmax2d", "LogSoftmax"],
    "conv": ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
             "ConvTranspose3d"],
    "loss": ["L1Loss", "NLLLoss", "PoissonNLLLoss", "GaussianNLLLoss", "KLDivLoss", "MSELoss",
             "BCELoss", "BCEWithLogitsLoss", "HingeEmbeddingLoss", "MultiLabelMarginLoss",
             "SmoothL1Loss", "HuberLoss", "SoftMarginLoss", "CrossEntropyLoss",
             "MultiLabelSoftMarginLoss", "CosineEmbeddingLoss", "MarginRankingLoss",
             "MultiMarginLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss", "CTCLoss"],
    "rnn": ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"],
    "transformer": ["Transformer", "TransformerEncoder", "TransformerDecoder",
                    "TransformerEncoderLayer", "TransformerDecoderLayer"],
    "normalization": ["LocalResponseNorm", "LayerNorm", "GroupNorm", "RMSNorm"],
    "batchnorm": ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"],
    "instancenorm": ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"],
    "dropout": ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                "FeatureAlphaDropout"],
    "sparse": ["Embedding", "EmbeddingBag"],
    "container": ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"],
    "pooling": ["MaxPool1d", "MaxPool2d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d",
                "MaxUnpool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "LPPool1d", "LPPool2d",
                "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
                "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"],
    "flatten": ["Flatten", "Unflatten"],
    "padding": ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d",
                "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d",
                "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
                "ZeroPad1d", "ZeroPad2d", "ZeroPad3d"],
    "pixelshuffle": ["PixelShuffle", "PixelUnshuffle"],
    "upsampling": ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"],
    "distance": ["PairwiseDistance", "CosineSimilarity"],
    "fold": ["Fold", "Unfold"],
}
# PyTorch's base classes under compgraph's private names
RENAMES = {
    "RNNBase": ("compgraph.nn.recurrent", "_RNNBase"),
    "RNNCellBase": ("compgraph.nn.recurrent", "_CellBase"),
    "NonDynamicallyQuantizableLinear": ("compgraph.nn.attention",
                                        "NonDynamicallyQuantizableLinear"),
}


def submodule(name):
    """(__getattr__, __dir__) for torch.nn.modules.<name>."""
    return reexport(f"{__name__}.{name}", NAMES[name], ("compgraph.nn",), RENAMES)


_classes, __dir__ = reexport(__name__, [n for names in NAMES.values() for n in names],
                             ("compgraph.nn",), RENAMES)


def __getattr__(name):
    if name in NAMES:                   # torch.nn.modules.linear without importing it first
        return importlib.import_module(f"{__name__}.{name}")
    return _classes(name)
