"""Model references for the command line: a user's factory, torchvision and timm, and every way they can fail."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from analyzers.errors import UserError
from explorer.sources import resolve_source

_counter = itertools.count()


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a uniquely named package `<name>/models.py` on sys.path; returns a function taking its source code."""

    def write(source: str) -> str:
        name = f"user_pkg_{next(_counter)}"
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "models.py").write_text(textwrap.dedent(source))
        return f"{name}.models"

    monkeypatch.syspath_prepend(str(tmp_path))
    return write


FACTORIES = """
    import torch
    from torch import nn

    def build_net():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x)

    class Builders:
        @staticmethod
        def small():
            return nn.Linear(2, 2)

    instance = nn.Linear(3, 1)
    not_callable = 42

    def needs_arguments(width):
        return nn.Linear(width, width)

    def raises():
        raise RuntimeError("weights file missing\\nsecond line")

    def returns_dict():
        return {"model": nn.Linear(1, 1)}
"""


def test_factory_is_imported_and_called(user_module) -> None:
    module = user_module(FACTORIES)
    sourced = resolve_source(f"{module}:build_net")
    assert sourced.name == f"{module}:build_net"
    assert isinstance(sourced.module, nn.Sequential)
    assert isinstance(sourced.module[0], nn.Conv2d) and sourced.module[0].out_channels == 8
    assert sourced.input_size is None  # a factory does not say its input; the CLI asks for --input


def test_classes_instances_and_dotted_attributes_resolve(user_module) -> None:
    module = user_module(FACTORIES)
    assert isinstance(resolve_source(f"{module}:Net").module.fc, nn.Linear)
    assert resolve_source(f"{module}:Builders.small").module.in_features == 2
    assert resolve_source(f"{module}:instance").module.in_features == 3  # used as is, not called


def test_factory_builds_on_the_active_device(user_module) -> None:
    module = user_module(FACTORIES)
    with torch.device("meta"):
        sourced = resolve_source(f"{module}:build_net")
    assert all(p.device.type == "meta" for p in sourced.module.parameters())


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("no_such", "'{m}' has no attribute 'no_such'"),
        ("build_nett", "'{m}' has no attribute 'build_nett'; did you mean 'build_net'?"),
        ("Builders.large", "'{m}.Builders' has no attribute 'large'"),
        ("not_callable", "'{m}:not_callable' is a int, not a factory; it must be a function or class"),
        ("needs_arguments", "calling '{m}:needs_arguments()' failed: TypeError: needs_arguments() missing 1 required "
         "positional argument: 'width'; the factory must work with no arguments"),
        ("raises", "calling '{m}:raises()' failed: RuntimeError: weights file missing"),
        ("returns_dict", "'{m}:returns_dict()' returned a dict, not a torch.nn.Module"),
    ],
)
def test_factory_errors(user_module, attribute: str, message: str) -> None:
    module = user_module(FACTORIES)
    with pytest.raises(UserError) as caught:
        resolve_source(f"{module}:{attribute}")
    assert str(caught.value) == message.format(m=module)
    assert "\n" not in str(caught.value)


def test_module_that_is_not_importable() -> None:
    with pytest.raises(UserError) as caught:
        resolve_source("no_such_package_here.models:build")
    assert str(caught.value) == (
        "cannot import 'no_such_package_here.models': no module named 'no_such_package_here' (run from the "
        "directory that contains it, or add that directory to PYTHONPATH)"
    )


def test_module_that_fails_while_importing(user_module) -> None:
    broken = user_module("import a_dependency_that_is_not_installed\n")
    with pytest.raises(UserError) as caught:
        resolve_source(f"{broken}:build")
    assert str(caught.value) == (
        f"importing '{broken}' failed: ModuleNotFoundError: No module named 'a_dependency_that_is_not_installed'"
    )
    raising = user_module("raise ValueError('bad config')\n")
    with pytest.raises(UserError) as caught:
        resolve_source(f"{raising}:build")
    assert str(caught.value) == f"importing '{raising}' failed: ValueError: bad config"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("resnet50", "'resnet50' is not a model reference; expected 'package.module:factory', 'torchvision:NAME' or "
         "'timm:NAME'"),
        ("a:b:c", "'a:b:c' is not a model reference; expected 'package.module:factory', 'torchvision:NAME' or "
         "'timm:NAME'"),
        ("my-package:build", "'my-package:build' is not a model reference; expected 'package.module:factory', "
         "'torchvision:NAME' or 'timm:NAME'"),
        ("", "'' is not a model reference; expected 'package.module:factory', 'torchvision:NAME' or 'timm:NAME'"),
        ("torchvision:", "'torchvision:' needs a model name after 'torchvision:', e.g. 'torchvision:resnet50'"),
        ("timm:", "'timm:' needs a model name after 'timm:', e.g. 'timm:resnet50'"),
    ],
)
def test_malformed_references(ref: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        resolve_source(ref)
    assert str(caught.value) == message


def test_source_error_is_a_value_error() -> None:
    assert issubclass(UserError, ValueError)


# --- torchvision and timm ------------------------------------------------------------------------------------


def _usable(package: str) -> bool:
    if importlib.util.find_spec(package) is None:
        return False
    try:
        importlib.import_module(package)
    except Exception:  # e.g. torchvision built for another torch: "operator torchvision::nms does not exist"
        return False
    return True


@pytest.mark.parametrize("package", ["torchvision", "timm"])
def test_missing_package_is_reported_plainly(package: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # makes `import package` fail, as when it is not installed
    with pytest.raises(UserError) as caught:
        resolve_source(f"{package}:resnet18")
    assert str(caught.value) == (
        f"{package} is not installed or not usable here (ModuleNotFoundError: import of {package} halted; None in "
        f"sys.modules); install a {package} build that matches your torch, or use a zoo model "
        "(`python -m explorer list`)"
    )


def test_package_that_imports_badly_is_reported_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # what a torchvision wheel built for another torch does on import (measured here with torch 2.13 CPU)
    fake = tmp_path / "torchvision"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise RuntimeError('operator torchvision::nms does not exist')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(UserError) as caught:
        resolve_source("torchvision:resnet18")
    assert str(caught.value).startswith(
        "torchvision is not installed or not usable here (RuntimeError: operator torchvision::nms does not exist)"
    )


@pytest.mark.skipif(not _usable("torchvision"), reason="torchvision is not installed or does not import here")
def test_torchvision_model_builds_without_weights() -> None:
    with torch.device("meta"):
        sourced = resolve_source("torchvision:resnet18")
    assert sourced.name == "torchvision:resnet18"
    assert sourced.input_size == (3, 224, 224)
    assert sum(p.numel() for p in sourced.module.parameters()) == 11_689_512  # ResNet18_Weights meta "num_params"
    inception = resolve_source("torchvision:inception_v3")
    assert inception.input_size == (3, 299, 299)  # Inception_V3_Weights: crop_size=299
    with pytest.raises(UserError, match=r"^torchvision has no model 'resnet51'; did you mean resnet50"):
        resolve_source("torchvision:resnet51")


@pytest.mark.skipif(not _usable("timm"), reason="timm is not installed or does not import here")
def test_timm_model_builds_without_weights() -> None:
    sourced = resolve_source("timm:resnet18")  # on the CPU: not every timm builder runs under the meta device
    assert sourced.name == "timm:resnet18"
    assert sourced.input_size == (3, 224, 224)
    assert sum(p.numel() for p in sourced.module.parameters()) == 11_689_512  # same architecture as torchvision's
    with pytest.raises(UserError, match=r"^timm has no model 'resnet51'; did you mean "):
        resolve_source("timm:resnet51")


# --- the adapters, against stand-ins with the same API surface (the real packages do not import here) ----------

FAKE_TORCHVISION_MODELS = """
    from functools import partial

    from torch import nn

    class Weights:  # like a WeightsEnum member: `transforms` is a functools.partial with the eval crop size
        def __init__(self, crop_size):
            self.transforms = partial(object, crop_size=crop_size)

    class WeightsEnum:
        def __init__(self, crop_size):
            self.DEFAULT = Weights(crop_size)

    CROPS = {"tiny_net": 224, "tall_net": 299, "no_weights_net": None}

    def list_models():
        return sorted([*CROPS, "broken_net"])

    def get_model(name, weights="DEFAULT"):
        assert weights is None, "must build without weights"
        if name == "broken_net":
            raise ValueError("needs a config")
        return nn.Linear(3, 2)

    def get_model_weights(name):
        if CROPS[name] is None:
            raise ValueError("no weights for this model")
        return WeightsEnum(CROPS[name])
"""

FAKE_TIMM = """
    from torch import nn

    NAMES = ["tiny_vit", "tiny_cnn", "broken_cnn"]

    def is_model(name):
        return name in NAMES

    def list_models():
        return list(NAMES)

    def create_model(name, pretrained=True):
        assert pretrained is False, "must build without weights"
        if name == "broken_cnn":
            raise RuntimeError("meta tensors cannot be converted")
        model = nn.Linear(3, 2)
        model.pretrained_cfg = {"input_size": (3, 256, 256)} if name == "tiny_vit" else {}
        return model
"""


@pytest.fixture
def fake_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "torchvision").mkdir()
    (tmp_path / "torchvision" / "__init__.py").write_text("from torchvision import models\n")
    (tmp_path / "torchvision" / "models.py").write_text(textwrap.dedent(FAKE_TORCHVISION_MODELS))
    (tmp_path / "timm.py").write_text(textwrap.dedent(FAKE_TIMM))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] in ("torchvision", "timm")]:
        monkeypatch.delitem(sys.modules, name)


def test_torchvision_adapter(fake_packages: None) -> None:
    tiny = resolve_source("torchvision:tiny_net")
    assert (tiny.name, tiny.input_size, type(tiny.module)) == ("torchvision:tiny_net", (3, 224, 224), nn.Linear)
    assert resolve_source("torchvision:tall_net").input_size == (3, 299, 299)
    assert resolve_source("torchvision:no_weights_net").input_size is None
    with pytest.raises(UserError) as caught:
        resolve_source("torchvision:tiny_nett")
    assert str(caught.value) == "torchvision has no model 'tiny_nett'; did you mean tiny_net?"
    with pytest.raises(UserError) as caught:
        resolve_source("torchvision:broken_net")
    assert str(caught.value) == "building torchvision:broken_net failed: ValueError: needs a config"


def test_timm_adapter(fake_packages: None) -> None:
    vit = resolve_source("timm:tiny_vit")
    assert (vit.name, vit.input_size) == ("timm:tiny_vit", (3, 256, 256))
    assert resolve_source("timm:tiny_cnn").input_size is None
    with pytest.raises(UserError) as caught:
        resolve_source("timm:zzz")
    assert str(caught.value) == "timm has no model 'zzz'"
    with pytest.raises(UserError) as caught:
        resolve_source("timm:broken_cnn")
    assert str(caught.value) == "building timm:broken_cnn failed: RuntimeError: meta tensors cannot be converted"


# --- user code that tries to stop the program ------------------------------------------------------------------

STOPPERS = """
    import sys

    def interrupts():
        raise KeyboardInterrupt

    def exits_quietly():
        sys.exit(0)

    def exits_with_status():
        raise SystemExit(3)
"""


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("interrupts", "calling '{m}:interrupts()' failed: KeyboardInterrupt"),
        ("exits_quietly", "calling '{m}:exits_quietly()' failed: it called sys.exit(0)"),
        ("exits_with_status", "calling '{m}:exits_with_status()' failed: it called sys.exit(3)"),
    ],
)
def test_a_factory_that_raises_keyboard_interrupt_or_exits_is_a_source_error(user_module, attribute, message):
    module = user_module(STOPPERS)
    with pytest.raises(UserError) as caught:
        resolve_source(f"{module}:{attribute}")
    assert str(caught.value) == message.format(m=module)


def test_a_module_that_exits_while_importing_is_a_source_error(user_module) -> None:
    module = user_module("import sys\nsys.exit(4)\n")
    with pytest.raises(UserError) as caught:
        resolve_source(f"{module}:build")
    assert str(caught.value) == f"importing '{module}' failed: it called sys.exit(4)"


def test_a_real_ctrl_c_is_not_mistaken_for_the_factory_s_own(user_module) -> None:
    from explorer.run_limits import Interrupted

    module = user_module("from explorer.run_limits import Interrupted\ndef build():\n    raise Interrupted()\n")
    with pytest.raises(Interrupted):  # what the CLI's SIGINT handler raises passes through, for exit status 130
        resolve_source(f"{module}:build")


def test_a_factory_that_needs_real_data_on_meta_is_told_about_build_device(user_module) -> None:
    module = user_module("import torch\ndef build():\n    torch.ones(1).item()\n")
    with torch.device("meta"), pytest.raises(UserError) as caught:
        resolve_source(f"{module}:build")
    assert str(caught.value).endswith("(it was built on the meta device, which holds no data; try --build-device cpu)")
