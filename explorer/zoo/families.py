"""Imports every family module so that their `@register_model` decorators run (one file per family).

The import order is the listing order: the seeds' order, worked examples first.
"""

from explorer.zoo import (
    alexnet,  # noqa: F401
    cifar_resnet,  # noqa: F401
    efficientnet,  # noqa: F401
    fractalnet,  # noqa: F401
    inception,  # noqa: F401
    lenet,  # noqa: F401
    mobilenet,  # noqa: F401
    network_in_network,  # noqa: F401
    preact_resnet,  # noqa: F401
    resnet,  # noqa: F401
    seed_blocks,  # noqa: F401
    vgg,  # noqa: F401
    wide_resnet,  # noqa: F401
    zfnet,  # noqa: F401
)

__all__: list[str] = []  # importing it registers every family; it offers no names of its own
