"""A policy's exceptions as data (ADR 0025): those a declaration on the end item can claim
(``declared_exceptions``) and those the ledger cannot judge (``not_judged``).

Parsed from the policy document by :func:`parse`, which :mod:`ledger.compliance.policy`
calls; pure values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ledger.core.vocabulary import vocabulary
from ledger.errors import InputError


@dataclass(frozen=True, slots=True, kw_only=True)
class WeightLimit:
    """In window ``window``, the exception does not reach an end item that is ``share`` or
    more (inclusive) of ``materials`` by weight."""

    window: str
    what: str
    materials: frozenset[str]
    share: Fraction
    paragraph: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MillProducts:
    """In window ``window``, the exception does not reach a mill product of ``materials``."""

    window: str
    materials: frozenset[str]
    paragraph: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclaredException:
    """An exception an end item can claim by a declaration (``end_item.kind``)."""

    id: str
    declaration: str
    text: str
    citation: str
    paragraph: str
    embedded: bool
    """True: it also reaches covered material inside a declared item that is built into
    the lot judged (DoD counts a missile's capacitors as electronic devices)."""
    caveat: str | None
    """A condition the ledger cannot judge (``unless otherwise specified in the contract``)."""
    weight_limits: tuple[WeightLimit, ...]
    mill_products: tuple[MillProducts, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnjudgedException:
    """An exception that rests on facts the ledger does not hold (the contract's)."""

    id: str
    text: str
    citation: str
    paragraph: str


def parse(
    doc: Mapping[str, Any], windows: Sequence[str]
) -> tuple[tuple[DeclaredException, ...], tuple[UnjudgedException, ...]]:
    """The declared and unjudged exceptions of a validated policy document.

    Raises:
        InputError: a window or material named is not the policy's or the vocabulary's.
    """
    declared = tuple(
        _declared(body, f"declared_exceptions[{i}]", windows)
        for i, body in enumerate(doc.get("declared_exceptions", []))
    )
    unjudged = tuple(
        UnjudgedException(
            id=body["id"], text=body["text"], citation=body["citation"], paragraph=body["paragraph"]
        )
        for body in doc.get("not_judged", [])
    )
    return declared, unjudged


def _declared(body: Mapping[str, Any], field: str, windows: Sequence[str]) -> DeclaredException:
    return DeclaredException(
        id=body["id"],
        declaration=body["declaration"],
        text=body["text"],
        citation=body["citation"],
        paragraph=body["paragraph"],
        embedded=body["embedded"],
        caveat=body.get("caveat"),
        weight_limits=tuple(
            WeightLimit(
                window=_window(w["window"], f"{field}.weight_limits[{j}]", windows),
                what=w["what"],
                materials=_materials(w["materials"], f"{field}.weight_limits[{j}]"),
                share=Fraction(w["share"]),
                paragraph=w["paragraph"],
            )
            for j, w in enumerate(body.get("weight_limits", []))
        ),
        mill_products=tuple(
            MillProducts(
                window=_window(m["window"], f"{field}.mill_products[{j}]", windows),
                materials=_materials(m["materials"], f"{field}.mill_products[{j}]"),
                paragraph=m["paragraph"],
            )
            for j, m in enumerate(body.get("mill_products", []))
        ),
    )


def _window(name: str, field: str, windows: Sequence[str]) -> str:
    if name not in windows:
        raise InputError(f"{field} names window {name!r}, which the policy does not define")
    return name


def _materials(names: Sequence[str], field: str) -> frozenset[str]:
    for name in names:
        if not vocabulary().is_material(name):
            raise InputError(f"{field} names material {name!r}, which is not in the vocabulary")
    return frozenset(names)
