"""One colour per model and one per family, the same on every chart and page, whatever else is selected.

Families have a fixed map of well-separated hues. A registered model takes its family's hue, varied by its
place in the family's listing (lightness and a hue step alternate, so resnet18 and resnet50 differ at a
glance while both read as ResNets); a name outside the registry (a spec, a benchmark of another source) takes a
place on a golden-angle walk round the hue circle from a stable hash of its name. Nothing depends on which
models happen to be chosen, so a model never changes colour with the selection.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib

__all__ = [
    "FAMILY_COLORS", "GOLDEN_ANGLE", "UNKNOWN_FAMILY_COLOR", "family_color", "family_variant", "model_color",
    "place_color",
]

FAMILY_COLORS: dict[str, str] = {  # keyed by `Family.value`
    "LeNet-5": "#0891b2",
    "AlexNet": "#b91c1c",
    "ZFNet": "#c2410c",
    "VGG": "#7c3aed",
    "ResNet": "#2563eb",
    "1×1 convolutions": "#0f766e",
    "Inception": "#16a34a",
    "MobileNet": "#db2777",
    "EfficientNet": "#ca8a04",
    "Seed examples": "#475569",
}
UNKNOWN_FAMILY_COLOR = "#6b7280"
GOLDEN_ANGLE = 137.50776  # degrees: consecutive places never land near each other on the hue circle
_LIGHTNESS = (0.42, 0.56, 0.34)
_HASHED_OFFSET = 1000  # hashed names start far from the registry's places


def family_color(family: str) -> str:
    return FAMILY_COLORS.get(str(family), UNKNOWN_FAMILY_COLOR)


# (hue step in degrees, lightness) for a family's 1st, 2nd, … model; then the cycle repeats a little shifted.
_VARIANTS = ((0, 0.45), (6, 0.66), (-6, 0.30), (10, 0.56), (-10, 0.37), (3, 0.76), (-3, 0.24), (12, 0.50))


def _hex(hue: float, lightness: float, saturation: float) -> str:
    red, green, blue = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return "#{:02x}{:02x}{:02x}".format(round(red * 255), round(green * 255), round(blue * 255))


def place_color(place: int) -> str:
    """The colour of the `place`-th name outside the registry: golden-angle hue, three lightness levels."""
    return _hex(place * GOLDEN_ANGLE / 360, _LIGHTNESS[place % len(_LIGHTNESS)], 0.72)


def family_variant(family: str, index: int) -> str:
    """The colour of the `index`-th model (0-based, listing order) of `family`."""
    red, green, blue = (int(family_color(family)[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, _, saturation = colorsys.rgb_to_hls(red, green, blue)
    step, lightness = _VARIANTS[index % len(_VARIANTS)]
    step += 2 * (index // len(_VARIANTS))
    return _hex(hue + step / 360, lightness, max(saturation, 0.6) if saturation > 0.3 else saturation)


@functools.cache
def _registry_colors() -> dict[str, str]:
    from explorer.zoo import list_models  # imported on first use: the figures stay usable without the zoo loaded

    seen: dict[str, int] = {}
    colors = {}
    for info in list_models():
        family = info.family.value
        colors[info.name] = family_variant(family, seen.get(family, 0))
        seen[family] = seen.get(family, 0) + 1
    return colors


def model_color(name: str) -> str:
    """The colour of model `name` on every chart."""
    known = _registry_colors().get(str(name))
    if known is not None:
        return known
    digest = hashlib.sha256(str(name).encode("utf-8")).digest()
    return place_color(_HASHED_OFFSET + int.from_bytes(digest[:4], "big") % 10_000)
