"""compgraph.optim: optimizers and learning-rate schedules with PyTorch's names and formulas."""
from . import lr_scheduler  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .adaptive import Adadelta, Adamax, NAdam, RAdam  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .others import Adagrad, RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401
