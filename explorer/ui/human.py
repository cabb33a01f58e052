"""Numbers for people: 4,089,184,256 MACs read as "4.09 G", 96,337,920 bytes as "91.9 MiB".

Prefixes run up to E (10¹⁸), so a huge input never prints an exponent ("5.6e+03 T"); the exact count goes in
the tooltip or caption beside it.
"""

from __future__ import annotations

__all__ = ["binary_bytes", "compact", "exact"]

_SI = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))
_BINARY = ((2**60, "EiB"), (2**50, "PiB"), (2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def _three_digits(value: float) -> str:
    """Three significant digits, never in exponent form: 4.09, 40.9, 409, 4,090 (only past the largest prefix)."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _scaled(value: float, units: tuple[tuple[float, str], ...], below: str) -> str:
    for index, (scale, unit) in enumerate(units):
        if abs(value) >= scale:
            text = _three_digits(value / scale)
            if index > 0 and abs(float(text.replace(",", ""))) >= 1000:  # 999.6 K rounds to 1,000 K: say 1 M
                return f"{_three_digits(value / units[index - 1][0])} {units[index - 1][1]}"
            return f"{text} {unit}"
    return below


def compact(value: float) -> str:
    """K, M, G, T, P, E prefixes with three significant digits; below a thousand the number itself."""
    small = f"{value:,.0f}" if float(value).is_integer() else f"{value:.3g}"
    return _scaled(value, _SI, small)


def binary_bytes(value: float) -> str:
    return _scaled(value, _BINARY, f"{value:,.0f} B")


def exact(value: int) -> str:
    """Thousands separators, as the seeds write their counts: 120,422,400."""
    return f"{int(value):,}"


def percent_change(new: float, old: float) -> str:
    """'-25.0%': the change from `old` to `new`, with as many decimals as it takes not to read -100.0% for what is
    not zero (a frozen step keeping 393 K of 131 G MACs is -99.9997%); '' when `old` is zero."""
    if not old:
        return ""
    change = 100 * (new - old) / old
    text = f"{change:+.1f}%"
    for decimals in range(1, 7):
        text = f"{change:+.{decimals}f}%"
        if new == 0 or abs(float(text[:-1])) < 100:
            break
    return text
