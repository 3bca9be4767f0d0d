"""The controlled vocabularies of materials and stages, kept as data in ``schemas/vocabulary.json``.

Each material belongs to a family (rare earths, tungsten, ...); each stage maps to the
statutory verb of 10 U.S.C. 4872 it performs (``mined``, ``refined``, ``separated``,
``melted``, ``produced``) or to none, and says whether it confers origin.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from ledger.core import schema


@dataclass(frozen=True, slots=True, kw_only=True)
class Material:
    name: str
    family: str
    description: str
    implies: frozenset[str]
    """Stages that must already have happened to make this material."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    name: str
    verb: str | None
    confers_origin: bool
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Vocabulary:
    materials: Mapping[str, Material]
    stages: Mapping[str, Stage]
    families: Mapping[str, str]

    def is_material(self, name: str) -> bool:
        return name in self.materials

    def is_stage(self, name: str) -> bool:
        return name in self.stages


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the nearest known term, or nothing when none is near."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@cache
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, validated against ``vocabulary.schema.json``."""
    data = schema.read_document("vocabulary.json")
    schema.validate(data, "vocabulary.schema.json", what="vocabulary")
    return Vocabulary(
        materials=MappingProxyType(
            {
                name: Material(
                    name=name,
                    family=m["family"],
                    description=m["description"],
                    implies=frozenset(m["implies"]),
                )
                for name, m in data["materials"].items()
            }
        ),
        stages=MappingProxyType(
            {
                name: Stage(
                    name=name,
                    verb=s["verb"],
                    confers_origin=s["confers_origin"],
                    description=s["description"],
                )
                for name, s in data["stages"].items()
            }
        ),
        families=MappingProxyType({name: f["description"] for name, f in data["families"].items()}),
    )
