"""Model references for the command line: a user's factory and every way it can fail; library models come from
the one catalogue builder, for bench as for summary."""

from __future__ import annotations

import json
import itertools
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from analyzers.errors import UserError
from explorer.catalogue import build
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


# --- library models: one builder (explorer.catalogue), for every command --------------------------------------


@pytest.mark.parametrize("ref", ["torchvision:resnet18", "timm:resnet18", "hf:gpt2"])
def test_a_library_reference_is_not_a_factory(ref: str) -> None:
    with pytest.raises(UserError) as caught:
        resolve_source(ref)
    assert str(caught.value) == f"'{ref}' is a library's model: explorer.catalogue.build builds it"


@pytest.mark.parametrize("package", ["torchvision", "timm"])
def test_missing_package_is_reported_plainly(package: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # makes `import package` fail, as when it is not installed
    with pytest.raises(UserError) as caught:
        build(f"{package}:resnet18")
    assert str(caught.value) == (
        f"{package} is not installed or not usable here (ModuleNotFoundError: import of {package} halted; None in "
        "sys.modules); install the pinned requirements.txt"
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
        build("torchvision:resnet18")
    assert str(caught.value).startswith(
        "torchvision is not installed or not usable here (RuntimeError: operator torchvision::nms does not exist)"
    )


def test_a_library_model_builds_with_weights_on_a_real_device() -> None:
    sourced = build("timm:resnet18", device="cpu")  # what bench times: random initial weights on the CPU
    assert sourced.ref == "timm:resnet18" and sourced.input_size == (3, 224, 224)
    assert sum(p.numel() for p in sourced.module.parameters()) == 11_689_512  # same architecture as torchvision's
    assert all(p.device.type == "cpu" for p in sourced.module.parameters())
    assert float(sourced.module.fc.weight.detach().abs().sum()) > 0  # initialised, not left empty


def test_bench_and_summary_build_the_same_googlenet(capsys: pytest.CaptureFixture[str]) -> None:
    # was: 13,004,888 parameters through bench (aux heads kept) and 6,624,904 through summary; torchvision's
    # GoogLeNet_Weights (which drop the aux heads) publish 6,624,904
    from explorer.cli import bench_configs
    from explorer.cli import main

    timed = bench_configs.build_for_bench("torchvision:googlenet", torch.device("meta"))
    assert sum(p.numel() for p in timed.parameters()) == 6_624_904
    assert main(["summary", "torchvision:googlenet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 6_624_904
    assert bench_configs.default_input_size("torchvision:inception_v3") == (3, 299, 299)  # Inception_V3_Weights: 299


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
