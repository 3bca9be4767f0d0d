"""Issue 11 item 9, admission half (ADR 0021): an event dated after its own signing is refused.

A record's ``issued_at`` is when its signer signed it; ``extracted_on``, ``performed_on``,
``shipped_on`` and ``received_on`` are the calendar days of the events it reports. A record
whose event is dated after the moment it was signed claims to report something that had not
happened yet, and admission refuses it at the ``payload`` step in one line naming both
dates. Event days are local, ``issued_at`` is an instant: the latest calendar day anywhere
at ``issued_at`` is the UTC date of ``issued_at + 14 h`` (UTC+14), so a plant in Tokyo
signing early on the morning of the event is not refused.

Through ``bloc submit`` on both backends (exit 5, one line, nothing stored) and, for the
adversarial variants, through pure admission (``memory_view.MemoryWorld``), in the style of
``test_bad_inputs.py``. The standard world is ``helpers.World``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from memory_view import MemoryWorld

from ledger.cli.main import bloc
from ledger.errors import RecordRejected
from ledger.records.admission import Registry, check_signed_tail_entry, open_envelope

from helpers import World, envelope_bytes, extraction, receipt, shipment, transformation

LYNAS = World.lynas
SHINETSU = World.shinetsu
REFUSAL = "a record cannot report an event that had not happened when it was signed"


def ore(**changes: Any) -> dict[str, Any]:
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-9", "rare_earth_ore", 10)])
    record.update(changes)
    return record


def oxide(**changes: Any) -> dict[str, Any]:
    record = transformation(
        "lynas",
        "lynas-kuantan",
        "separation",
        [("lot:lynas/ORE-1", 100)],
        [("lot:lynas/NDPR-9", "ndpr_oxide", 20)],
    )
    record.update(changes)
    return record


def ship(**changes: Any) -> dict[str, Any]:
    record = shipment(
        "lynas", "ship:lynas/S-9", "lynas-kuantan", "shinetsu-takefu", ["lot:lynas/NDPR-1"]
    )
    record.update(changes)
    return record


def arrival(**changes: Any) -> dict[str, Any]:
    """A second receipt would be refused anyway (reference): the date check comes first."""
    record = receipt(
        "shinetsu", "ship:lynas/S-1", "shinetsu-takefu", [("lot:lynas/NDPR-1", 5199.8)]
    )
    record.update(changes)
    return record


Case = tuple[Callable[[], bytes], str]

# Each expected line is written from ADR 0021: "<kind>.<field> <day> is after its issued_at
# <instant>: a record cannot report ...".
REFUSED: dict[str, Case] = {
    "ore extraction dated four months after it was signed": (
        lambda: envelope_bytes(
            ore(extracted_on="2026-06-01", issued_at="2026-02-01T08:00:00Z"), LYNAS
        ),
        f"payload: extraction.extracted_on 2026-06-01 is after its issued_at "
        f"2026-02-01T08:00:00Z: {REFUSAL}",
    ),
    "separation pre-signed for next month": (
        lambda: envelope_bytes(
            oxide(performed_on="2026-04-03", issued_at="2026-03-03T10:00:00Z"), LYNAS
        ),
        f"payload: transformation.performed_on 2026-04-03 is after its issued_at "
        f"2026-03-03T10:00:00Z: {REFUSAL}",
    ),
    "shipment signed a week before it left": (
        lambda: envelope_bytes(
            ship(shipped_on="2026-03-17", issued_at="2026-03-10T06:00:00Z"), LYNAS
        ),
        f"payload: shipment.shipped_on 2026-03-17 is after its issued_at "
        f"2026-03-10T06:00:00Z: {REFUSAL}",
    ),
    "receipt signed the day before the goods arrived": (
        lambda: envelope_bytes(
            arrival(received_on="2026-04-03", issued_at="2026-04-02T07:30:00Z"), SHINETSU
        ),
        f"payload: receipt.received_on 2026-04-03 is after its issued_at "
        f"2026-04-02T07:30:00Z: {REFUSAL}",
    ),
    # 23:30Z on 2 March is 13:30 on 3 March at UTC+14 at the latest: 4 March is nowhere yet.
    "separation dated a day later than any time zone at its signing": (
        lambda: envelope_bytes(
            oxide(performed_on="2026-03-04", issued_at="2026-03-02T23:30:00Z"), LYNAS
        ),
        f"payload: transformation.performed_on 2026-03-04 is after its issued_at "
        f"2026-03-02T23:30:00Z: {REFUSAL}",
    ),
}


def submit(world: World, path: Path, *options: str) -> Result:
    return CliRunner().invoke(bloc, ["--home", str(world.home.path), "submit", *options, str(path)])


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_event_dated_after_its_signing_is_refused_by_bloc_submit(
    world: World, tmp_path: Path, name: str
) -> None:
    build, expected = REFUSED[name]
    path = tmp_path / "envelope.json"
    path.write_bytes(build())
    before = world.state()

    result = submit(world, path)

    assert result.exit_code == 5, result.output
    assert "Traceback" not in result.output
    assert result.stdout == f"{path}: rejected: {expected}\n"
    assert result.stderr == "bloc: 1 of 1 envelopes rejected\n"
    assert world.state() == before


def test_event_dated_after_its_signing_is_refused_as_json(world: World, tmp_path: Path) -> None:
    build, expected = REFUSED["separation pre-signed for next month"]
    path = tmp_path / "envelope.json"
    path.write_bytes(build())
    before = world.state()

    result = submit(world, path, "--json")

    assert result.exit_code == 5, result.output
    answer = json.loads(result.stdout)
    assert answer["kind"] == "transformation"
    assert {k: v for k, v in answer.items() if k not in ("record_id", "kind")} == {
        "source": str(path),
        "status": "rejected",
        "reason": expected,
    }
    assert world.state() == before


def test_tokyo_plant_signing_on_the_morning_of_the_event_is_accepted(
    world: World, tmp_path: Path
) -> None:
    """08:30 on 3 March in Tokyo is 23:30Z on 2 March: the event day exists somewhere."""
    path = tmp_path / "envelope.json"
    path.write_bytes(
        envelope_bytes(oxide(performed_on="2026-03-03", issued_at="2026-03-02T23:30:00Z"), LYNAS)
    )

    result = submit(world, path)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: accepted at log index 11 (transformation ")
    assert "warning" not in result.stdout


def test_event_on_the_day_it_was_signed_is_accepted(world: World, tmp_path: Path) -> None:
    path = tmp_path / "envelope.json"
    path.write_bytes(
        envelope_bytes(oxide(performed_on="2026-03-03", issued_at="2026-03-03T10:00:00Z"), LYNAS)
    )

    result = submit(world, path)

    assert result.exit_code == 0, result.output


# --- adversarial variants, through pure admission ------------------------------------------


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_event_dated_after_its_signing_is_refused_at_admission(
    memory_world: MemoryWorld, name: str
) -> None:
    build, expected = REFUSED[name]
    before = memory_world.state()

    (result,) = memory_world.submit([build()])

    assert result.error == expected
    assert memory_world.state() == before


def test_date_check_comes_before_the_signature_check(memory_world: MemoryWorld) -> None:
    """Signed by the wrong key and dated in the future: the payload is refused first, as
    admission's order says (payload before signature)."""
    data = envelope_bytes(
        oxide(performed_on="2026-04-03", issued_at="2026-03-03T10:00:00Z"), SHINETSU
    )

    (result,) = memory_world.submit([data])

    assert result.error is not None
    assert result.error.startswith("payload: transformation.performed_on 2026-04-03 is after")


def test_evidence_replay_refuses_an_entry_dated_after_its_signing() -> None:
    """A bundle (or an unsigned log tail) cannot carry what admission refuses: the check runs
    before the signatures, so even a registry that knows nobody reaches it."""
    opened = open_envelope(
        envelope_bytes(ore(extracted_on="2026-06-01", issued_at="2026-02-01T08:00:00Z"), LYNAS)
    )

    with pytest.raises(RecordRejected) as refused:
        check_signed_tail_entry(opened, Registry({}))

    assert str(refused.value) == (
        f"payload: extraction.extracted_on 2026-06-01 is after its issued_at "
        f"2026-02-01T08:00:00Z: {REFUSAL}"
    )
