"""Compliance policies as data: loading, validating, and the questions the checker asks.

A policy (``schemas/policy.schema.json``, ADR 0008) names dated country sets, where
restricted stages may not happen, which stages each covered material restricts in each
dated window, which constituent families it asks about, how non-compliant mass combines,
what unknown mass means, its exemptions, and how components are judged. Built-in policies
ship in ``ledger.schemas/policies``; a path to a JSON file works the same way.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from ledger.compliance._exception_rules import DeclaredException, UnjudgedException
from ledger.compliance._exception_rules import parse as parse_exceptions
from ledger.core import schema
from ledger.core.codec import canonical_json, parse_json
from ledger.core.files import read_bounded
from ledger.core.vocabulary import vocabulary
from ledger.errors import ConfigError, InputError
from ledger.records.model import Control

MAX_POLICY_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Membership:
    country: str
    since: date | None
    until: date | None

    def covers(self, day: date) -> bool:
        return (self.since is None or self.since <= day) and (
            self.until is None or day <= self.until
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CountrySet:
    name: str
    members: tuple[Membership, ...]

    def contains(self, country: str, day: date) -> bool:
        return any(m.country == country and m.covers(day) for m in self.members)


@dataclass(frozen=True, slots=True, kw_only=True)
class MaterialRule:
    """What one window restricts for one covered material."""

    material: str
    label: str
    restricted_stages: frozenset[str]
    constituents: frozenset[str]
    citation: str
    paragraph: str
    covers_components: bool = False
    """Components containing the material are covered material themselves (tungsten heavy
    alloy: 'any finished or semi-finished component containing' it), so every stage that
    makes such a component is a restricted phase of production (ADR 0019)."""
    restricted_products: frozenset[str] = frozenset()
    """Materials whose making is restricted whatever the stage is called ('*': any), ADR 0017."""

    def restricts_making(self, material: str) -> bool:
        """Making ``material`` at a forbidden location is restricted (ADR 0017)."""
        return "*" in self.restricted_products or material in self.restricted_products

    def without(self, stages: frozenset[str]) -> MaterialRule:
        """This rule as if it did not restrict ``stages`` (an exemption that ignores them)."""
        return replace(self, restricted_stages=self.restricted_stages - stages)


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    id: str
    since: date | None
    until: date | None
    citation: str
    paragraph: str
    materials: Mapping[str, MaterialRule]

    def covers(self, day: date) -> bool:
        return (self.since is None or self.since <= day) and (
            self.until is None or day <= self.until
        )

    def rule_for(self, material: str) -> MaterialRule | None:
        return self.materials.get(material) or self.materials.get("*")


@dataclass(frozen=True, slots=True, kw_only=True)
class Exemption:
    id: str
    materials: frozenset[str]
    citation: str
    paragraph: str
    all_recycled: bool
    stages_in: Mapping[str, frozenset[str]]
    ignores_stages: frozenset[str] = frozenset()
    """Restricted stages its condition does not ask about (ADR 0018)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityControl:
    government_of: str
    min_percent: Decimal
    citation: str
    paragraph: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Components:
    end_item_prong: bool
    assembly_stages: frozenset[str]
    citation: str
    paragraph: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    name: str
    title: str
    citation: str
    digest: str
    """Hex SHA-256 of the policy's canonical JSON: which policy, exactly, decided."""
    country_sets: Mapping[str, CountrySet]
    location_set: str
    forbidden_inside: bool
    membership_on_event_date: bool
    entity_control: EntityControl | None
    windows: tuple[Window, ...]
    threshold: Decimal | None
    """None for taint (any non-compliant gram fails); else the largest allowed share."""
    unknown_verdict: str
    exemptions: tuple[Exemption, ...]
    components: Components | None
    document: Mapping[str, Any]
    declared_exceptions: tuple[DeclaredException, ...] = ()
    """Exceptions an end item claims by a declaration on its record (ADR 0025)."""
    not_judged: tuple[UnjudgedException, ...] = ()
    """Exceptions that rest on contract facts: verdicts name them, never judge them."""

    def window(self, as_of: date) -> Window | None:
        return next((w for w in self.windows if w.covers(as_of)), None)

    def location_forbidden(self, country: str, *, event_day: date, as_of: date) -> bool:
        day = event_day if self.membership_on_event_date else as_of
        member = self.country_sets[self.location_set].contains(country, day)
        return member if self.forbidden_inside else not member

    def controlled(self, control: Sequence[Control], *, event_day: date, as_of: date) -> bool:
        """True when governments of the entity-control set hold ``min_percent`` or more,
        together."""
        if self.entity_control is None:
            return False
        day = event_day if self.membership_on_event_date else as_of
        governments = self.country_sets[self.entity_control.government_of]
        # Holdings of every government in the set count together: China, Hong Kong and
        # Macau are one covered nation, and splitting a stake must not hide it.
        held = sum(
            (
                holder.percent
                for holder in control
                if holder.government and governments.contains(holder.country, day)
            ),
            Decimal(0),
        )
        return held >= self.entity_control.min_percent


def builtin_names() -> list[str]:
    folder = resources.files("ledger.schemas").joinpath("policies")
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


def load(name_or_path: str) -> Policy:
    """A built-in policy by name, or a policy file by path.

    Raises:
        ConfigError: no such policy, or the file cannot be read.
        InputError: the document is not a valid policy (one line naming the problem).
    """
    if name_or_path in builtin_names():
        data = (
            resources.files("ledger.schemas")
            .joinpath("policies", f"{name_or_path}.json")
            .read_bytes()
        )
        where = name_or_path
    else:
        path = Path(name_or_path)
        if not path.suffix == ".json" and not path.exists():
            raise ConfigError(
                f"no policy {name_or_path!r}: built-in policies are {', '.join(builtin_names())}"
            )
        data = read_bounded(path, limit=MAX_POLICY_BYTES, what="policy")
        where = str(path)
    try:
        return parse_policy(data)
    except InputError as e:
        raise InputError(f"policy {where}: {e}") from e


def parse_policy(data: bytes) -> Policy:
    """Validate a policy document and check every term it names against the vocabulary."""
    doc = parse_json(data, max_bytes=MAX_POLICY_BYTES, what="policy")
    schema.validate(doc, "policy.schema.json", what="policy")
    sets = {
        name: CountrySet(
            name=name,
            members=tuple(
                Membership(
                    country=m["country"],
                    since=_day(m.get("from")),
                    until=_day(m.get("until")),
                )
                for m in body["members"]
            ),
        )
        for name, body in doc["country_sets"].items()
    }
    location = doc["location"]
    _known_set(sets, location["set"], "location.set")
    control = doc.get("entity_control")
    if control is not None:
        _known_set(sets, control["government_of"], "entity_control.government_of")
    windows = tuple(_window(w, i) for i, w in enumerate(doc["windows"]))
    for earlier, later in itertools.pairwise(windows):
        if earlier.until is None or later.since is None or later.since <= earlier.until:
            raise InputError(f"windows {earlier.id} and {later.id} overlap or are out of order")
    combination = doc["combination"]
    components = doc.get("components")
    declared, unjudged = parse_exceptions(doc, [w.id for w in windows])
    return Policy(
        name=doc["name"],
        title=doc["title"],
        citation=doc["citation"],
        digest=hashlib.sha256(canonical_json(doc)).hexdigest(),
        country_sets=sets,
        location_set=location["set"],
        forbidden_inside=location["forbidden"] == "inside",
        membership_on_event_date=location["membership_date"] == "event",
        entity_control=(
            EntityControl(
                government_of=control["government_of"],
                min_percent=Decimal(str(control["min_percent"])),
                citation=control["citation"],
                paragraph=control["paragraph"],
            )
            if control
            else None
        ),
        windows=windows,
        threshold=(
            Decimal(combination["max_non_compliant"])
            if combination["mode"] == "threshold"
            else None
        ),
        unknown_verdict=doc["unknown"],
        exemptions=tuple(
            Exemption(
                id=e["id"],
                materials=frozenset(_material(m, f"exemptions[{i}]") for m in e["materials"]),
                citation=e["citation"],
                paragraph=e["paragraph"],
                all_recycled=bool(e.get("all_recycled", False)),
                stages_in={
                    _stage(stage, f"exemptions[{i}]"): frozenset(countries)
                    for stage, countries in e.get("stages_in", {}).items()
                },
                ignores_stages=frozenset(
                    _stage(stage, f"exemptions[{i}].ignores_stages")
                    for stage in e.get("ignores_stages", [])
                ),
            )
            for i, e in enumerate(doc.get("exemptions", []))
        ),
        components=(
            Components(
                end_item_prong=components["end_item_prong"],
                assembly_stages=frozenset(
                    _stage(s, "components") for s in components["assembly_stages"]
                ),
                citation=components["citation"],
                paragraph=components["paragraph"],
            )
            if components
            else None
        ),
        document=doc,
        declared_exceptions=declared,
        not_judged=unjudged,
    )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _known_set(sets: Mapping[str, CountrySet], name: str, field: str) -> None:
    if name not in sets:
        raise InputError(f"{field} names country set {name!r}, which the policy does not define")


def _material(name: str, field: str) -> str:
    if name != "*" and not vocabulary().is_material(name):
        raise InputError(f"{field} names material {name!r}, which is not in the vocabulary")
    return name


def _stage(name: str, field: str) -> str:
    if not vocabulary().is_stage(name):
        raise InputError(f"{field} names stage {name!r}, which is not in the vocabulary")
    return name


def _window(body: Mapping[str, Any], i: int) -> Window:
    field = f"windows[{i}]"
    rules: dict[str, MaterialRule] = {}
    for material, rule in body["materials"].items():
        where = f"{field}.materials.{material}"
        _material(material, where)
        for family in rule["constituents"]:
            if family not in vocabulary().families:
                raise InputError(f"{where} names family {family!r}, which is not in the vocabulary")
        rules[material] = MaterialRule(
            material=material,
            label=rule["label"],
            restricted_stages=frozenset(_stage(s, where) for s in rule["restricted_stages"]),
            constituents=frozenset(rule["constituents"]),
            citation=rule["citation"],
            paragraph=rule["paragraph"],
            covers_components=bool(rule.get("covers_components", False)),
            restricted_products=frozenset(
                _material(m, f"{where}.restricted_products")
                for m in rule.get("restricted_products", [])
            ),
        )
    window = Window(
        id=body["id"],
        since=_day(body.get("from")),
        until=_day(body.get("until")),
        citation=body["citation"],
        paragraph=body["paragraph"],
        materials=rules,
    )
    if window.since and window.until and window.until < window.since:
        raise InputError(f"{field} ends ({window.until}) before it starts ({window.since})")
    return window
