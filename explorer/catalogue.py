"""The libraries' own model catalogues: every torchvision and timm name they list, and Hugging Face configs.

Each model is built on the meta device as its default weights describe it, without the weights: torchvision's
classification crop, segmentation resize, video clip (C×T×H×W, 16 frames), ViT image size, GoogLeNet without the
aux heads its weights drop, detection backbones with the frozen batch norms the weights use (no backbone weights
fetched); timm's `pretrained_cfg` input size; a transformers config's image size or a sequence length. The app
builds only names these libraries list, so it never runs code a user typed; `hf:` is for the command line.
"""

from __future__ import annotations

import contextlib
import difflib
import enum
import importlib
import inspect
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from analyzers.errors import UserError, first_line
from analyzers.numbers import whole_number
from analyzers.counting.inputs import InputSpec, Inputs

__all__ = [
    "Catalogue", "CatalogueError", "CatalogueModel", "DEFAULT_SEQUENCE_LENGTH", "MODULE_BYTES", "Published",
    "RAFT_SIZE", "Task", "VIDEO_FRAMES", "build", "family", "inputs_at", "names", "on_meta", "parse_ref",
]

DEFAULT_SEQUENCE_LENGTH = 128
VIDEO_FRAMES = 16  # torchvision's video `_ops` are for 16-frame clips (r3d_18 40.697 G at 3×16×112×112)
RAFT_SIZE = (368, 496)  # RAFT's FlyingChairs training crop (torchvision publishes no evaluation size)
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


class CatalogueError(UserError):
    """A catalogue name that cannot be built: unknown, the library missing, or its builder failing."""


class Catalogue(str, enum.Enum):
    TORCHVISION = "torchvision"
    TIMM = "timm"
    HF = "hf"


class Task(str, enum.Enum):
    """What the model does, which decides its input: one image, a list of images, a clip, two frames, tokens."""

    CLASSIFICATION = "classification"
    SEGMENTATION = "segmentation"
    DETECTION = "detection"
    VIDEO = "video"
    OPTICAL_FLOW = "optical flow"
    TEXT = "text"


@dataclass(frozen=True)
class Published:
    """What the library publishes beside the model (None where it publishes nothing)."""

    params: int | None = None
    gflops: float | None = None  # torchvision `_ops`: conv + linear MACs in G (it calls them GFLOPS)
    top1: float | None = None


@dataclass(frozen=True)
class CatalogueModel:
    """A built catalogue model (on meta, no weights) with its default inputs."""

    ref: str  # "timm:resnet50"
    family: str
    task: Task
    module: nn.Module
    inputs: Inputs  # full shapes, batch 1
    input_size: tuple[int, ...] | None  # C×H×W (C×T×H×W) when the input is one image or clip, else None
    published: Published = field(default_factory=Published)

    @property
    def data_dependent(self) -> bool:
        """Detection models select boxes by score (`nonzero`): only a run on data can count them."""
        return self.task is Task.DETECTION


def parse_ref(ref: str) -> tuple[Catalogue, str]:
    source, sep, name = ref.strip().partition(":")
    try:
        catalogue = Catalogue(source)
    except ValueError:
        raise CatalogueError(f"'{ref}': the catalogues are {', '.join(c.value + ':' for c in Catalogue)}") from None
    if not sep or not name or (catalogue is not Catalogue.HF and not _NAME.fullmatch(name)):
        raise CatalogueError(f"'{ref}' needs a model name after '{source}:', e.g. '{source}:resnet50'")
    return catalogue, name


def build(ref: str, *, sequence_length: int = DEFAULT_SEQUENCE_LENGTH,
          device: torch.device | str = "meta") -> CatalogueModel:
    """Build `torchvision:NAME`, `timm:NAME` or `hf:ID_OR_PATH` with its default inputs: the one builder of library
    models, so that every command (summary, bench, the app) counts and times the same architecture.

    On the meta device by default (no weights: what an analysis needs); on a real `device` (`"cpu"`, `"cuda"`)
    with the library's random initial weights, for timing.
    """
    catalogue, name = parse_ref(ref)
    place = torch.device(device)
    if catalogue is Catalogue.TORCHVISION:
        return _torchvision(name, place)
    if catalogue is Catalogue.TIMM:
        return _timm(name, place)
    return _hf(name, sequence_length, place)


def _built_on(device: torch.device, factory: Callable[[], nn.Module]) -> nn.Module:
    """`factory()` on `device`: without weights on meta (`on_meta`), with its initial weights elsewhere."""
    if device.type == "meta":
        return on_meta(factory)
    with torch.device(device):
        return factory()


def on_meta(factory: Callable[[], nn.Module]) -> nn.Module:
    """`factory()` with its parameters and buffers on the meta device: built there directly, or — for a builder
    that computes its layer sizes with tensors and reads them back (RegNet's widths) — built on the CPU with
    every initialiser skipped (untouched memory is never paged in) and then moved to meta."""
    try:
        with torch.device("meta"), _InitialisationSkipped():
            return factory()
    except NotImplementedError as exc:
        if "meta" not in str(exc):
            raise
    with _initialisers_skipped():
        module = factory()
    return module.to("meta")


class _InitialisationSkipped(TorchFunctionMode):
    """In-place initialisation of meta tensors (`uniform_`, `normal_`, timm's `trunc_normal_` with its `erfinv_`,
    `clamp_`, `mul_`…) does nothing: there are no values to set, yet on meta each op runs a Python reference
    (~1 ms), which made building a timm ViT-L take 2.5 s."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        if getattr(func, "__name__", "") in _INIT_OPS and args and isinstance(args[0], torch.Tensor) and (
                args[0].is_meta):
            return args[0]
        return func(*args, **(kwargs or {}))


_INIT_OPS = frozenset({
    "uniform_", "normal_", "fill_", "zero_", "clamp_", "clamp_min_", "clamp_max_", "mul_", "add_", "sub_", "div_",
    "erfinv_", "copy_", "exponential_", "bernoulli_", "random_", "log_normal_", "sqrt_", "exp_", "abs_",
    "masked_fill_", "addcmul_", "addcdiv_", "neg_", "fmod_", "remainder_",
})


@contextlib.contextmanager
def _initialisers_skipped() -> Iterator[None]:
    saved = {name: getattr(nn.init, name) for name in _INITIALISERS if hasattr(nn.init, name)}
    try:
        for name in saved:
            setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for name, fn in saved.items():
            setattr(nn.init, name, fn)


_INITIALISERS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
                 "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
                 "sparse_")


def names(catalogue: Catalogue) -> list[str]:
    """Every name the library lists (torchvision.models.list_models(), timm.list_models())."""
    if catalogue is Catalogue.TORCHVISION:
        return list(_library("torchvision").models.list_models())
    if catalogue is Catalogue.TIMM:
        return list(_library("timm").list_models())
    raise CatalogueError("Hugging Face has no closed list of models: give hf:ID_OR_PATH")


def family(catalogue: Catalogue, name: str) -> str:
    """The module that defines the architecture: torchvision `resnet`, `detection.faster_rcnn`; timm `resnet`."""
    if catalogue is Catalogue.TORCHVISION:
        module = _library("torchvision").models.get_model_builder(name).__module__
        return module.removeprefix("torchvision.models.")
    if catalogue is Catalogue.TIMM:
        return _timm_families().get(name, "other")
    return "transformers"


@lru_cache(maxsize=1)
def _timm_families() -> dict[str, str]:
    from timm.models import _registry

    return {model: module.removeprefix("timm.models.") for model, module in _registry._model_to_module.items()}


def _library(package: str) -> ModuleType:
    try:
        return importlib.import_module(package)
    except Exception as exc:  # torchvision fails in more ways than ImportError beside a mismatched torch
        raise CatalogueError(f"{package} is not installed or not usable here ({first_line(exc, named=True)}); "
                             "install the pinned requirements.txt") from None




def _unknown(catalogue: Catalogue, name: str, known: list[str]) -> CatalogueError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return CatalogueError(f"{catalogue.value} has no model '{name}'{hint}")


# ---------------------------------------------------------------- torchvision

_TORCHVISION_TASKS = {"detection": Task.DETECTION, "segmentation": Task.SEGMENTATION, "video": Task.VIDEO,
                      "optical_flow": Task.OPTICAL_FLOW}


def _torchvision(name: str, device: torch.device) -> CatalogueModel:
    models = _library("torchvision").models
    from analyzers.counting.formulas import register_torchvision_ops

    register_torchvision_ops()  # roi_align, nms: their ops exist now that torchvision is imported
    known = list(models.list_models())
    if name not in known:
        raise _unknown(Catalogue.TORCHVISION, name, known)
    arch = family(Catalogue.TORCHVISION, name)
    task = _TORCHVISION_TASKS.get(arch.split(".")[0], Task.CLASSIFICATION)
    weights = models.get_model_weights(name).DEFAULT
    kwargs = _as_weights_describe(models.get_model_builder(name), name, weights, task)
    try:
        module = _built_on(device, lambda: models.get_model(name, weights=None, **kwargs))
    except Exception as exc:
        raise CatalogueError(f"building torchvision:{name} failed: {first_line(exc, named=True)}") from None
    if task is Task.DETECTION and not name.endswith("_v2") and not name.startswith("ssd"):
        _freeze_batch_norms(module.backbone.body, device)
    inputs, size = _torchvision_inputs(module, weights, task)
    top1 = weights.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")
    published = Published(weights.meta.get("num_params"), weights.meta.get("_ops"), top1)
    return CatalogueModel(f"torchvision:{name}", arch, task, module, inputs, size, published)


def _as_weights_describe(builder: Any, name: str, weights: Any, task: Task) -> dict[str, Any]:
    """Keyword arguments that make the weight-less model the one its default weights were trained as."""
    accepted = inspect.signature(builder).parameters
    kwargs: dict[str, Any] = {}
    if "weights_backbone" in accepted:
        kwargs["weights_backbone"] = None  # never download a backbone
    if name in ("googlenet", "quantized_googlenet"):
        kwargs.update(aux_logits=False, init_weights=False)  # its weights drop the aux heads: 6,624,904 params
    if name.startswith("vit_"):
        kwargs["image_size"] = weights.meta["min_size"][0]  # vit_h_14's SWAG weights are for 518×518
    if task is Task.SEGMENTATION and "aux_loss" in accepted:
        kwargs["aux_loss"] = True  # the COCO weights carry the auxiliary classifier
    if name.startswith("quantized_"):
        kwargs["quantize"] = False  # the float model the quantized weights come from
    return kwargs


def _freeze_batch_norms(module: nn.Module, device: torch.device) -> None:
    """Detection backbones trained from weights use FrozenBatchNorm2d (statistics and affine as buffers, not
    parameters); weight-less builders use BatchNorm2d, which would count those as parameters."""
    from torchvision.ops.misc import FrozenBatchNorm2d

    for parent in list(module.modules()):
        for child_name, child in list(parent.named_children()):
            if type(child) is nn.BatchNorm2d:
                with torch.device(device):
                    setattr(parent, child_name, FrozenBatchNorm2d(child.num_features, eps=child.eps))


def _torchvision_inputs(module: nn.Module, weights: Any, task: Task) -> tuple[Inputs, tuple[int, ...] | None]:
    preset = weights.transforms.keywords if hasattr(weights.transforms, "keywords") else {}
    if task is Task.DETECTION:
        side = int(module.transform.min_size[0])  # the size its transform resizes to
        return ([InputSpec((3, side, side))],), None
    if task is Task.OPTICAL_FLOW:
        return (InputSpec((1, 3, *RAFT_SIZE)), InputSpec((1, 3, *RAFT_SIZE))), None
    if task is Task.SEGMENTATION:
        side = _side(preset["resize_size"])
        size: tuple[int, ...] = (3, side, side)
    elif task is Task.VIDEO:
        size = (3, VIDEO_FRAMES, *(int(d) for d in preset["crop_size"]))
    else:
        side = _side(preset["crop_size"])
        size = (3, side, side)
    return InputSpec((1, *size)), size


def _side(value: Any) -> int:
    """An image side from a preset or a config (224 or [224, 224])."""
    return _whole(value[0] if isinstance(value, (list, tuple)) and value else value, "an image size")


def _whole(value: Any, what: str) -> int:
    """A count from a preset or a user's config; 224.5 or '٣' is refused, not cut to a number nobody wrote."""
    number = whole_number(value)
    if number is None:
        raise CatalogueError(f"{what} must be a whole number, got {value!r}")
    return number


# ---------------------------------------------------------------- timm


def _timm(name: str, device: torch.device) -> CatalogueModel:
    timm = _library("timm")
    if not timm.is_model(name):
        raise _unknown(Catalogue.TIMM, name, list(timm.list_models()))
    try:
        module = _built_on(device, lambda: timm.create_model(name, pretrained=False))
    except Exception as exc:
        raise CatalogueError(f"building timm:{name} failed: {first_line(exc, named=True)}") from None
    config = getattr(module, "pretrained_cfg", None) or {}
    size = tuple(int(d) for d in config.get("input_size") or (3, 224, 224))
    params = None  # timm publishes counts per pretrained tag in its results tables (see explorer.atlas)
    return CatalogueModel(f"timm:{name}", family(Catalogue.TIMM, name), Task.CLASSIFICATION, module,
                          InputSpec((1, *size)), size, Published(params))


# ---------------------------------------------------------------- Hugging Face transformers


def _hf(id_or_path: str, sequence_length: int, device: torch.device) -> CatalogueModel:
    transformers = _library("transformers")
    config = _hf_config(transformers, id_or_path)
    architectures = getattr(config, "architectures", None) or [""]
    if not isinstance(architectures, (list, tuple)) or not all(isinstance(a, str) for a in architectures):
        raise CatalogueError(f"hf:{id_or_path}: 'architectures' must be a list of class names such as "
                             f"[\"BertModel\"], got {str(architectures)[:80]!r}")
    architecture = architectures[0]  # e.g. GPT2LMHeadModel: with its head
    model_class = getattr(transformers, architecture, None) if architecture else None

    def build_from(config: Any, where: torch.device) -> nn.Module:
        if model_class is not None and hasattr(model_class, "_from_config"):
            return _built_on(where, lambda: model_class._from_config(config))
        return _built_on(where, lambda: transformers.AutoModel.from_config(config))

    _check_layer_counts(f"hf:{id_or_path}", config, lambda small: build_from(small, torch.device("meta")))
    try:
        module = build_from(config, device)
    except Exception as exc:
        raise CatalogueError(
            f"building hf:{id_or_path} from its config failed: {first_line(exc, named=True)}") from None
    inputs, size = _hf_inputs(config, sequence_length)
    task = Task.CLASSIFICATION if size is not None else Task.TEXT
    return CatalogueModel(f"hf:{id_or_path}", getattr(config, "model_type", "transformers"), task, module,
                          inputs, size)


# A module built on meta holds no weights but is still Python objects, and the analysis adds its records: measured
# 6.6 KB a module for both (BERT with 1,000 layers: 18,012 modules, 116 MB more peak RSS). A config asks for its
# depth in a number, so that number is checked against the memory budget before anything is built.
MODULE_BYTES = 6_600
_REPEATS = re.compile(r"(^|_)(layers?|experts)$")  # num_hidden_layers, n_layer, decoder_layers, num_local_experts…
_FEW_REPEATS = 64  # at most this many in all: no estimate needed (the largest published configs have ~100 layers)


def _check_layer_counts(ref: str, config: Any, build: Callable[[Any], nn.Module]) -> None:
    """Refuse, before building, a negative layer count, or counts that would build more modules than the memory
    budget holds (with the largest count that fits). The modules per layer come from two small builds (every count at 1,
    then each at 2): counted, not guessed per architecture."""
    import copy

    from analyzers.budget import largest_that_fits, refuse_over_budget

    counts = {key: value for key, value in config.to_dict().items()
              if _REPEATS.search(key) and isinstance(value, int) and not isinstance(value, bool)}
    negative = [key for key, value in counts.items() if value < 0]
    if negative:  # range(-1) is empty: transformers would build the model without those layers, silently
        raise CatalogueError(f"{ref}: {negative[0]} must be a count of 0 or more, got {counts[negative[0]]}")
    repeats = {key: value for key, value in counts.items() if value > 1}
    if sum(repeats.values()) <= _FEW_REPEATS:
        return

    def modules_with(counts: dict[str, int]) -> int:
        small = copy.deepcopy(config)
        for key, value in counts.items():
            setattr(small, key, value)
        return sum(1 for _ in build(small).modules())

    try:
        base = modules_with(dict.fromkeys(repeats, 1))
        per_repeat = {key: modules_with({**dict.fromkeys(repeats, 1), key: 2}) - base for key in repeats}
    except Exception:  # the small builds fail: the real one reports why
        return

    def bytes_with(counts: dict[str, int]) -> int:
        return MODULE_BYTES * (base + sum(per_repeat[key] * (n - 1) for key, n in counts.items()))

    largest = max(repeats, key=lambda key: per_repeat[key] * repeats[key])
    most = largest_that_fits(lambda n: bytes_with({**repeats, largest: n}), most=repeats[largest])
    asked = ", ".join(f"{key} {value:,}" for key, value in repeats.items())
    modules = bytes_with(repeats) // MODULE_BYTES
    refuse_over_budget(bytes_with(repeats), f"{ref}: building {asked} (about {modules:,} modules)",
                       f"at most {largest} {most:,} fits" if most else "use fewer layers")


def _hf_config(transformers: ModuleType, id_or_path: str) -> Any:
    """A local folder with config.json, a config JSON file, or a hub id (needs the network): never weights. A local
    config is read by us, as a regular file of bounded size (a FIFO or /dev/zero there is one line, not a hang)."""
    from analyzers.user_files import UnusableFileError, read_text

    path = Path(id_or_path).expanduser()
    try:
        local = path.exists()
    except OSError as exc:  # e.g. a name longer than the file system takes
        raise CatalogueError(f"hf:{id_or_path}: {exc.strerror or exc}") from None
    if not local and (path.is_absolute() or id_or_path.startswith((".", "~"))):
        raise CatalogueError(f"hf:{id_or_path}: no such folder or file; give a folder or file with config.json")
    try:
        if local:
            file = path / "config.json" if path.is_dir() else path
            values = json.loads(read_text(file, "a transformers config.json", limit_bytes=_MAX_CONFIG_BYTES))
            if not isinstance(values, dict):
                raise CatalogueError(f"hf:{id_or_path}: a transformers config is a JSON object, got "
                                     f"{type(values).__name__}")
            model_type = values.pop("model_type", None)
            if not model_type or not isinstance(model_type, str):
                raise CatalogueError(f"{id_or_path}: a transformers config needs a 'model_type'")
            return transformers.AutoConfig.for_model(model_type, **values)
        with _hub_retries_quiet():
            return transformers.AutoConfig.from_pretrained(id_or_path)
    except (CatalogueError, UnusableFileError):
        raise
    except Exception as exc:
        where = "a folder or file with config.json" if local else "a local config or a hub id (the hub needs the " \
            "network)"
        raise CatalogueError(f"hf:{id_or_path}: cannot read a transformers config ({first_line(exc, named=True)}); "
                             f"give {where}") from None


_MAX_CONFIG_BYTES = 16 * 2**20  # the largest published config.json files are tens of kilobytes


@contextlib.contextmanager
def _hub_retries_quiet() -> Iterator[None]:
    """huggingface_hub logs a warning line for each of its retries without a network: the error after them is
    the one line the user gets."""
    import logging

    hub = logging.getLogger("huggingface_hub")
    level = hub.level
    hub.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub.setLevel(level)


def _hf_inputs(config: Any, sequence_length: int) -> tuple[Inputs, tuple[int, ...] | None]:
    vision = getattr(config, "vision_config", None) or config
    image_size = getattr(vision, "image_size", None)
    if image_size is not None and getattr(config, "vocab_size", None) is None:
        side = _side(image_size)
        channels = _whole(getattr(vision, "num_channels", 3), "num_channels")
        return {"pixel_values": InputSpec((1, channels, side, side))}, (channels, side, side)
    tokens = InputSpec((1, sequence_length), torch.int64)
    if getattr(config, "is_encoder_decoder", False):
        return {"input_ids": tokens, "decoder_input_ids": tokens}, None
    return {"input_ids": tokens}, None


def inputs_at(model: CatalogueModel, size: tuple[int, ...] | None) -> Inputs:
    """The model's inputs with each image (or clip) of `size` (C×H×W or C×T×H×W, no batch); None: its defaults."""
    if size is None:
        return model.inputs
    size = tuple(size)  # each InputSpec below refuses a size that is not whole numbers
    if model.task is Task.DETECTION:
        return ([InputSpec(size)],)
    if model.task is Task.OPTICAL_FLOW:
        return (InputSpec((1, *size)), InputSpec((1, *size)))
    if model.task is Task.TEXT:
        raise CatalogueError(f"{model.ref} takes token ids, not an image: give --input input_ids=int64:1xLENGTH")
    if isinstance(model.inputs, dict):  # a transformers vision model: pixel_values
        return {"pixel_values": InputSpec((1, *size))}
    return InputSpec((1, *size))
