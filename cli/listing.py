"""``bloc lots``, ``bloc participants`` and ``bloc facilities``: what the ledger holds now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ledger.core.codec import format_kg
from ledger.core.vocabulary import did_you_mean, vocabulary
from ledger.store import LotFilter

from .common import counted, emit_json, json_option, reading_ledger

F = TypeVar("F", bound=Callable[..., Any])


class Term(click.ParamType[str, Any]):
    """A material or stage of the vocabulary: a misspelt filter is refused with a
    suggestion, never answered with an empty list."""

    def __init__(self, kind: str) -> None:
        self.name = kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        known = vocabulary().materials if self.name == "material" else vocabulary().stages
        text = str(value).strip().lower()
        if text in known:
            return text
        hint = did_you_mean(text, known)
        return self.fail(f"{value!r} is not a {self.name} in the vocabulary{hint}", param, ctx)


def _upper(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Country codes are upper case; 'us' means US."""
    return value.upper() if value is not None else None


def _country_option(what: str) -> Callable[[F], F]:
    return click.option(
        "--country", metavar="CC", callback=_upper, help=f"Only {what} in this country."
    )


@click.command()
@click.option("--material", type=Term("material"), help="Only lots of this material.")
@click.option("--holder", metavar="FACILITY", help="Only lots this facility holds now.")
@click.option(
    "--owner", metavar="PARTICIPANT", help="Only lots whose id names this owner (lot:OWNER/...)."
)
@click.option("--in-transit", is_flag=True, help="Only lots on their way somewhere.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many lots (in id order).")
@json_option
@click.pass_context
def lots(
    ctx: click.Context,
    material: str | None,
    holder: str | None,
    owner: str | None,
    in_transit: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """The lots in the ledger: material, mass left of mass made, who holds them, and the log
    index that made each."""
    where = LotFilter(
        material=material, holder=holder, owner=owner, in_transit=in_transit, limit=limit
    )
    found = reading_ledger(ctx).lots(where)
    if as_json:
        for lot in found:
            emit_json(lot._asdict())
        return
    for lot in found:
        where_now = f"in transit ({lot.in_transit})" if lot.in_transit else f"at {lot.holder}"
        click.echo(
            f"{lot.id}  {lot.material}  {_left(lot.remaining_g)} of "
            f"{format_kg(lot.mass_g)}  {where_now}  (log index {lot.created_index}, "
            f"{lot.created_on})"
        )
    click.echo(counted(len(found), "lot"))


def _left(grams: int) -> str:
    return format_kg(grams).removesuffix(" kg")


@click.command()
@_country_option("participants")
@click.option("--role", help="Only participants with this role (e.g. miner, defense_contractor).")
@json_option
@click.pass_context
def participants(ctx: click.Context, country: str | None, role: str | None, as_json: bool) -> None:
    """The registered participants, as their latest registration says."""
    found = reading_ledger(ctx).participants(country=country, role=role)
    if as_json:
        for p in found:
            emit_json(p._asdict() | {"roles": list(p.roles)})
        return
    for p in found:
        click.echo(
            f"{p.id}  {p.country}  {p.name}  roles {', '.join(p.roles)}  "
            f"{counted(p.keys, 'key')}  (log index {p.log_index})"
        )
    click.echo(counted(len(found), "participant"))


@click.command()
@_country_option("facilities")
@click.option("--operator", metavar="PARTICIPANT", help="Only facilities it operates.")
@click.option("--stage", type=Term("stage"), help="Only facilities registered for this stage.")
@json_option
@click.pass_context
def facilities(
    ctx: click.Context,
    country: str | None,
    operator: str | None,
    stage: str | None,
    as_json: bool,
) -> None:
    """The registered facilities, as their latest registration says."""
    found = reading_ledger(ctx).facilities(country=country, operator=operator, stage=stage)
    if as_json:
        for f in found:
            emit_json(f._asdict() | {"stages": list(f.stages)})
        return
    for f in found:
        region = f", {f.region}" if f.region else ""
        click.echo(
            f"{f.id}  {f.country}{region}  {f.name}  operated by {f.operator}  "
            f"stages {', '.join(f.stages)}  (log index {f.log_index})"
        )
    click.echo(counted(len(found), "facility", "facilities"))
