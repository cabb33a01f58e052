"""The model zoo: every architecture in the seeds, registered by name (see `registry`).

Importing the package imports `families`, which imports each family module, which registers its entries in
`registry`: the dependency runs one way only (registry imports no family module).
"""

from explorer.zoo import families  # noqa: F401  (registers every entry; families → registry, never back)
from explorer.zoo.registry import (
    BuildOptionError,
    Family,
    ModelInfo,
    UnknownModelError,
    ZooModel,
    build_model,
    get_model_info,
    list_models,
    register_model,
)

__all__ = [
    "BuildOptionError",
    "Family",
    "ModelInfo",
    "UnknownModelError",
    "ZooModel",
    "build_model",
    "get_model_info",
    "list_models",
    "register_model",
]
