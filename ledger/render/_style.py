"""What every picture and page shares: the palette, the font, XML-safe escaping, percentages
and grams.

:func:`esc` is the one escaping helper of :mod:`ledger.render`: SVG, HTML pages and the
report all go through it, so none of them can hold a character XML forbids.
"""

from __future__ import annotations

import html
import re

from ledger.compliance import Verdict, mass_text

RED = "#c62828"
AMBER = "#d98c00"
INK = "#1f2933"
GREY = "#5f6b7a"
BUYER = "#2f5597"

FONT = "Helvetica, Arial, 'Liberation Sans', sans-serif"

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(text: object) -> str:
    """Text for XML and HTML content or attribute values: ``<&>"'`` escaped, and the
    characters XML cannot hold at all (C0 controls but tab, newline and carriage return;
    U+FFFE, U+FFFF) replaced by U+FFFD."""
    return html.escape(_INVALID_XML.sub("\ufffd", str(text)), quote=True)


def percent(fraction: float) -> str:
    """``0.0525`` as ``5.25%``. A non-zero share never shows as ``0.00%`` (it is ``<
    0.01%``), nor one short of the whole as ``100.00%`` (it is ``> 99.99%``): ADR 0023."""
    text = f"{fraction * 100:.2f}%"
    if fraction > 0 and text == "0.00%":
        return "< 0.01%"
    if fraction < 1 and text == "100.00%":
        return "> 99.99%"
    return text


def shares(v: Verdict) -> str:
    """The verdict's compliant, non-compliant and unknown shares, in that order."""
    return (
        f"compliant {percent(v.compliant)}, non-compliant {percent(v.non_compliant)}, "
        f"unknown {percent(v.unknown)}"
    )


def grams(v: Verdict) -> str:
    """The verdict's exact grams (judged, compliant, non-compliant, unknown), or "" when it
    has none (ADR 0023)."""
    if v.grams is None:
        return ""
    g = v.grams
    return (
        f"{mass_text(g.judged)} judged: compliant {mass_text(g.compliant)}, "
        f"non-compliant {mass_text(g.non_compliant)}, unknown {mass_text(g.unknown)}"
    )
