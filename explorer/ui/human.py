"""Numbers for people: 4,089,184,256 MACs read as "4.09 G", 96,337,920 bytes as "91.9 MiB"."""

from __future__ import annotations

_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_BINARY = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def compact(value: float) -> str:
    """SI prefixes with three significant digits; below a thousand the number itself."""
    for scale, prefix in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3g}"


def binary_bytes(value: float) -> str:
    for scale, unit in _BINARY:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:,.0f} B"


def exact(value: int) -> str:
    """Thousands separators, as the seeds write their counts: 120,422,400."""
    return f"{int(value):,}"
