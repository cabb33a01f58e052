"""The model zoo: every architecture in the seeds, registered by name (see `registry`)."""

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
