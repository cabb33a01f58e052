"""Imports every family module so that their `@register_model` decorators run (one file per family).

The import order is the listing order: the seeds' order, worked examples first.
"""

# The order below is the listing order, not the alphabet: import sorting is off for it.
# isort: off

from explorer.zoo import seed_blocks  # noqa: F401
from explorer.zoo import lenet  # noqa: F401
from explorer.zoo import alexnet  # noqa: F401
from explorer.zoo import zfnet  # noqa: F401
from explorer.zoo import vgg  # noqa: F401
from explorer.zoo import resnet  # noqa: F401
from explorer.zoo import cifar_resnet  # noqa: F401
from explorer.zoo import preact_resnet  # noqa: F401
from explorer.zoo import wide_resnet  # noqa: F401
from explorer.zoo import fractalnet  # noqa: F401
from explorer.zoo import network_in_network  # noqa: F401
from explorer.zoo import inception  # noqa: F401
from explorer.zoo import mobilenet  # noqa: F401
from explorer.zoo import efficientnet  # noqa: F401
# isort: on

__all__: list[str] = []  # importing it registers every family; it offers no names of its own
