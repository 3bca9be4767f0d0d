"""What every picture and page shares: the palette, the font, XML-safe escaping, percentages.

:func:`esc` is the one escaping helper of :mod:`ledger.render`: SVG, HTML pages and the
report all go through it, so none of them can hold a character XML forbids.
"""

from __future__ import annotations

import html
import re

from ledger.compliance import Verdict

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
    """``0.0525`` as ``5.25%``."""
    return f"{fraction * 100:.2f}%"


def shares(v: Verdict) -> str:
    """The verdict's compliant, non-compliant and unknown shares, in that order."""
    return (
        f"compliant {percent(v.compliant)}, non-compliant {percent(v.non_compliant)}, "
        f"unknown {percent(v.unknown)}"
    )
