"""compgraph.nn.functional: every function of compgraph.functional, plus the layer
functions that belong to nn (conv1d/2d, max/avg pooling, pad, layer_norm, batch_norm, ...) and the
losses with PyTorch's full keyword sets.  `import compgraph.nn.functional as F` gives
what `torch.nn.functional` users expect.
"""
from ..functional import *  # noqa: F401,F403
from ..functional import one_hot  # noqa: F401  (int64, PyTorch's)
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: F401
from ._fn_conv import conv2d, max_pool2d, pad  # noqa: F401
from ._fn_layers import (batch_norm, embedding, layer_norm, linear, log_softmax,  # noqa: F401
                         softmax)
from ._fn_loss import (binary_cross_entropy_with_logits, cross_entropy, l1_loss,  # noqa: F401
                       nll_loss)
from ._fn_more import (adaptive_avg_pool2d, avg_pool2d, conv1d, cosine_similarity,  # noqa: F401
                       dropout2d, huber_loss, kl_div, logsigmoid, mish, normalize, silu,
                       smooth_l1_loss)
from ._fn_act import (hardsigmoid, hardswish, hardtanh, prelu, relu6, softmin,  # noqa: F401,E402
                      softsign)
from ._fn_convnd import avg_pool3d, conv3d, conv_transpose1d, conv_transpose2d  # noqa: F401,E402
from ._fn_resample import interpolate, max_unpool2d, upsample  # noqa: F401,E402
