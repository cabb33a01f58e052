"""Caps on what a spec may ask for, so that no text can exhaust memory or time.

Text size is checked before parsing; the number of modules is counted from the parsed tree before anything
is built (`module_count`); parameters, multiply–accumulates and tensor sizes are tallied by the builder as it
infers shapes, *before* it creates each module. A spec over a limit fails at the line that crosses it and never
allocates, or spends time on, what it asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.spec.errors import SpecError

__all__ = ["Budget", "DEFAULT_LIMITS", "SpecLimits"]


@dataclass(frozen=True)
class SpecLimits:
    """Upper bounds for one spec. The defaults admit VGG-16 at 224×224 (138M parameters, 15.5G MACs) with room."""

    max_chars: int = 100_000
    max_lines: int = 5_000
    max_nesting: int = 8  # branch/residual blocks inside each other
    max_repeat: int = 256  # the N of `xN`
    max_modules: int = 2_000  # every module created (containers too), after repeats are expanded
    max_side: int = 4_096  # any height, width, kernel, stride, padding or dilation
    max_channels: int = 65_536  # any channel or feature count
    max_tensor_elements: int = 2**30  # elements of one layer's output, batch 1
    max_params: int = 1_000_000_000
    max_macs: int = 10**12


DEFAULT_LIMITS = SpecLimits()


class Budget:
    """Running totals of one build; `charge` raises a `SpecError` naming the line that goes over a limit."""

    def __init__(self, limits: SpecLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.params = 0
        self.macs = 0

    def charge(self, line: int, *, params: int = 0, macs: int = 0, output_elements: int = 0) -> None:
        """Count one module about to be created; call it before creating the module."""
        limits = self.limits
        self.params += params
        self.macs += macs
        if output_elements > limits.max_tensor_elements:
            raise SpecError(
                f"this layer's output has {output_elements:,} elements, over the limit of "
                f"{limits.max_tensor_elements:,}",
                line,
            )
        if self.params > limits.max_params:
            raise SpecError(
                f"the model grows past {limits.max_params:,} parameters here ({self.params:,}), the limit for a spec",
                line,
            )
        if self.macs > limits.max_macs:
            raise SpecError(
                f"the model grows past {limits.max_macs:,} multiply-accumulates here ({self.macs:,}), "
                "the limit for a spec",
                line,
            )
