"""Why a stage offends a policy, in an auditor's words (ADR 0024).

:func:`offence` asks the questions :func:`ledger.compliance._rule_shares.forbidden` asks, and
says which ones a stage fails: the facility's country and the country set it is (or is not)
in on the date the policy tests membership, and its operator's covered-government holders
with their stake against the control threshold. It returns None when the stage breaks
neither. Pure: it reads a policy and facility facts and returns text.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.compliance._model import FacilityFacts
from ledger.compliance.policy import Policy


def offence(policy: Policy, facts: FacilityFacts, day: date, as_of: date) -> str | None:
    """Why a stage on ``day`` at the facility ``facts`` describes breaks ``policy`` as of
    ``as_of`` (each failed test, joined), or None when it breaks nothing. The facility is
    judged by its registration in force on ``day``, as :func:`forbidden` judges it (ADR
    0016); before its first registration nothing is known to offend."""
    here = facts.on(day)
    if here is None:
        return None
    found = [
        text
        for text in (
            place_offence(policy, here.country, day, as_of),
            _control(policy, here, day, as_of),
        )
        if text
    ]
    return "; and ".join(found) or None


def _when(policy: Policy, day: date, as_of: date) -> str:
    if policy.membership_on_event_date:
        return f"{day.isoformat()}, the day of the stage"
    return f"{as_of.isoformat()}, the delivery date"


def place_offence(policy: Policy, country: str, day: date, as_of: date) -> str | None:
    """Why a stage in ``country`` on ``day`` breaks the policy's location test, or None."""
    if not policy.location_forbidden(country, event_day=day, as_of=as_of):
        return None
    name = policy.location_set
    when = _when(policy, day, as_of)
    if policy.forbidden_inside:
        return f"{country} is a {name} country: it is in the policy's '{name}' set on {when}"
    return (
        f"{country} is outside the allowed countries: it is not in the policy's '{name}' set "
        f"on {when}"
    )


def _control(policy: Policy, facts: FacilityFacts, day: date, as_of: date) -> str | None:
    control = policy.entity_control
    holders = facts.control_on(day)
    if control is None or not policy.controlled(holders, event_day=day, as_of=as_of):
        return None
    member_day = day if policy.membership_on_event_date else as_of
    governments = policy.country_sets[control.government_of]
    counted = [h for h in holders if h.government and governments.contains(h.country, member_day)]
    held = sum((h.percent for h in counted), Decimal(0))
    named = "; ".join(
        f"{h.holder}, the government of {h.country}, {percent_text(h.percent)}%" for h in counted
    )
    return (
        f"its operator, {facts.operator}, was held {percent_text(held)}% by "
        f"{control.government_of} governments on {day.isoformat()} ({named}): "
        f"{control.paragraph} counts {percent_text(control.min_percent)}% or more as control, "
        f"wherever the facility is"
    )


def declared_origin(policy: Policy, country: str, day: date, as_of: date) -> str:
    """The why of an untraced input whose declared origin is forbidden (ADR 0020)."""
    why = place_offence(policy, country, day, as_of)
    return f"its submitter declared it of {country} origin: {why}"


def implied_here(stages: list[str], material: str, facility: str, why: str) -> str:
    """The why of stages a transformation's output implies, counted as done at its facility
    because the facility is registered for them."""
    return (
        f"{', '.join(stages)} (which {material} implies, and {facility} is registered for) "
        f"counts as done here; {why}"
    )


def percent_text(value: Decimal) -> str:
    """A stake as people write it: ``Decimal("30.0")`` as ``30``."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
