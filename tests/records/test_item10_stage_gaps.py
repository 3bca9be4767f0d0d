"""Issue 11 item 10 (ADR 0022): a stage nobody is recorded doing is told at the door.

Each material implies the stages that made it (``schemas/vocabulary.json``; research §7.1).
A record whose output implies a stage that neither its inputs' materials carry nor its
facility is registered for is *accepted* (a toll processor off the ledger may have done it;
ADR 0003 keeps such evidence), and:

- ``bloc submit`` prints ``FILE: warning: stage-gap: ...`` after the ``accepted`` line,
  naming the missing stage and the registration that would allow it (exit 0; ``--json``
  adds ``"warnings"``);
- ``bloc findings`` keeps a ``stage-gap`` warning for the auditor;
- the verdict treats the gap as unknown where the rule restricts the stage — under
  DFARS 252.225-7052(b)(1)(ii) window B "refined" covers cracking and leaching, and
  bloc-2026 restricts every production stage: INCONCLUSIVE, never PASS.

Through the command line on both backends; the chain is set up through the service with
real signed records (``scenarios.Scenario``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from scenarios import ISSUED, Scenario

from ledger.cli.main import bloc

from helpers import World, envelope_bytes, extraction, key_for, transformation

BLOC = "bloc-2026"
WINDOW_B = "2027-02-01"


def sites(s: Scenario) -> None:
    """An Australian mine that also concentrates, an Australian mine that only mines, an
    Australian separator registered for separation only, and a Japanese magnet maker."""
    s.org("ausmine", "AU")
    s.site("ausmine-pit", "ausmine", "AU", ["mining", "beneficiation"])
    s.site("ausmine-bare", "ausmine", "AU", ["mining"])
    s.org("ausep", "AU")
    s.site("ausep-sx", "ausep", "AU", ["separation"])
    s.site("ausep-full", "ausep", "AU", ["cracking_leaching", "separation"])
    s.org("jpmag", "JP")
    s.site("jpmag-takefu", "jpmag", "JP", ["metal_reduction", "alloy_melting"])
    s.org("usfe", "US")
    s.site("usfe-mine", "usfe", "US", ["mining"])
    s.org("usrec", "US")
    s.site("usrec-plant", "usrec", "US", ["scrap_collection", "recycling_reprocessing"])


def write(tmp_path: Path, record: dict[str, Any], signer: str) -> Path:
    path = tmp_path / "record.dsse.json"
    path.write_bytes(envelope_bytes(record, key_for(signer)))
    return path


def submit(world: World, path: Path, *options: str) -> Result:
    result = CliRunner().invoke(
        bloc, ["--home", str(world.home.path), "submit", *options, str(path)]
    )
    assert "Traceback" not in result.output
    return result


def tree_size(world: World) -> int:
    return world.state()[0]


def separation(site: str, inputs: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    record = transformation(
        "ausep", site, "separation", inputs, [("lot:ausep/OX-1", "ndpr_oxide", 4000)], **extra
    )
    record["issued_at"] = ISSUED
    return record


def findings_of(world: World) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        bloc, ["--home", str(world.home.path), "findings", "--json", "--fail-on", "never"]
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def check(world: World, lot: str, policy: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        bloc,
        [
            *("--home", str(world.home.path), "check", lot),
            *("--policy", policy, "--as-of", WINDOW_B, "--json"),
        ],
    )
    verdict: dict[str, Any] = json.loads(result.stdout)
    return verdict


def test_separation_from_concentrate_at_a_plant_not_registered_for_cracking(
    empty_world: World, tmp_path: Path
) -> None:
    """The issue's example: concentrate → ndpr_oxide at a facility registered only for
    separation skips cracking_leaching."""
    s = Scenario(empty_world)
    sites(s)
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 20000)
    s.ship(ore, "ausep-sx")
    index = tree_size(empty_world)
    path = write(tmp_path, separation("ausep-sx", [(ore, 20000)]), "ausep")

    result = submit(empty_world, path)

    gap = (
        f"stage-gap: separation at log index {index} made ndpr_oxide lot:ausep/OX-1 from "
        f"rare_earth_concentrate {ore} without cracking_leaching on record: record the "
        "cracking_leaching where it was done, or register fac:ausep-sx for it (registered "
        "for separation)"
    )
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first.startswith(f"{path}: accepted at log index {index} (transformation ")
    assert second == f"{path}: warning: {gap}"
    stored = [f for f in findings_of(empty_world) if f["code"] == "stage-gap"]
    assert [(f["severity"], f["log_index"], f["message"]) for f in stored] == [
        ("warning", index, gap.removeprefix("stage-gap: "))
    ]
    # Months later the verdict says the same thing: the refining stage is unknown.
    verdict = check(empty_world, "lot:ausep/OX-1", BLOC)
    assert verdict["verdict"] == "inconclusive"
    assert verdict["unknown_reasons"][0]["reason"] == (
        f"cracking_leaching not recorded before log index {index}"
    )


def test_stage_gap_warning_in_json(empty_world: World, tmp_path: Path) -> None:
    s = Scenario(empty_world)
    sites(s)
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 20000)
    s.ship(ore, "ausep-sx")
    index = tree_size(empty_world)
    path = write(tmp_path, separation("ausep-sx", [(ore, 20000)]), "ausep")

    result = submit(empty_world, path, "--json")

    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    document = json.loads(line)
    assert document["log_index"] == index
    (warning,) = document["warnings"]
    assert warning.startswith(f"stage-gap: separation at log index {index} made ndpr_oxide")


def test_concentrate_extracted_at_a_mine_registered_only_for_mining(
    empty_world: World, tmp_path: Path
) -> None:
    s = Scenario(empty_world)
    sites(s)
    index = tree_size(empty_world)
    record = extraction(
        "ausmine",
        "ausmine-bare",
        [("lot:ausmine/C-1", "rare_earth_concentrate", 1000)],
        issued_at=ISSUED,
    )
    path = write(tmp_path, record, "ausmine")

    result = submit(empty_world, path)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        f"{path}: warning: stage-gap: mining at log index {index} extracted "
        "rare_earth_concentrate lot:ausmine/C-1 without beneficiation on record: record the "
        "beneficiation where it was done, or register fac:ausmine-bare for it (registered "
        "for mining)"
    ]
    assert check(empty_world, "lot:ausmine/C-1", BLOC)["verdict"] == "inconclusive"


def test_untraced_concentrate_separated_without_cracking(
    empty_world: World, tmp_path: Path
) -> None:
    s = Scenario(empty_world)
    sites(s)
    index = tree_size(empty_world)
    untraced = [{"material": "rare_earth_concentrate", "mass_kg": 20000}]
    path = write(tmp_path, separation("ausep-sx", [], untraced=untraced), "ausep")

    result = submit(empty_world, path)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == (
        f"{path}: warning: stage-gap: separation at log index {index} made ndpr_oxide "
        "lot:ausep/OX-1 from untraced rare_earth_concentrate without cracking_leaching on "
        "record: record the cracking_leaching where it was done, or register fac:ausep-sx "
        "for it (registered for separation)"
    )


# --- no gap: no warning, no finding ---------------------------------------------------------


def test_separation_at_a_plant_that_also_cracks_has_no_gap(
    empty_world: World, tmp_path: Path
) -> None:
    s = Scenario(empty_world)
    sites(s)
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 20000)
    s.ship(ore, "ausep-full")
    path = write(tmp_path, separation("ausep-full", [(ore, 20000)]), "ausep")

    result = submit(empty_world, path)

    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1
    assert [f for f in findings_of(empty_world) if f["code"] == "stage-gap"] == []
    assert check(empty_world, "lot:ausep/OX-1", BLOC)["verdict"] == "pass"


def test_iron_melted_into_alloy_is_not_a_gap(empty_world: World, tmp_path: Path) -> None:
    """Iron was never separated: only inputs of the output's own family carry its chain."""
    s = Scenario(empty_world)
    sites(s)
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 20000)
    (oxide,) = s.make("ausep-full", "separation", [(ore, 20000)], [("OX-1", "ndpr_oxide", 4000)])
    (metal,) = s.make(
        "jpmag-takefu", "metal_reduction", [(oxide, 4000)], [("MET-1", "ndpr_metal", 3000)]
    )
    iron = s.mine("usfe-mine", "FE-1", "iron", 6800)
    s.ship(iron, "jpmag-takefu")
    record = transformation(
        "jpmag",
        "jpmag-takefu",
        "alloy_melting",
        [(metal, 3000), (iron, 6800)],
        [("lot:jpmag/AL-1", "ndfeb_alloy", 9800)],
        issued_at=ISSUED,
    )
    path = write(tmp_path, record, "jpmag")

    result = submit(empty_world, path)

    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1, result.stdout


def test_scrap_reprocessed_into_oxide_is_not_a_gap(empty_world: World, tmp_path: Path) -> None:
    """Scrap has no mining chain to miss (another family; its origin is item 3's)."""
    s = Scenario(empty_world)
    sites(s)
    scrap = s.mine("usrec-plant", "SCRAP-1", "magnet_scrap", 1000, source="recycled")
    record = transformation(
        "usrec",
        "usrec-plant",
        "recycling_reprocessing",
        [(scrap, 1000)],
        [("lot:usrec/OX-1", "ndpr_oxide", 250)],
        issued_at=ISSUED,
    )
    path = write(tmp_path, record, "usrec")

    result = submit(empty_world, path)

    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1, result.stdout


def test_repack_that_turns_concentrate_into_oxide_is_material_changed_not_a_gap(
    empty_world: World, tmp_path: Path
) -> None:
    """A repack confers nothing and may not change the material: that is its own finding
    (``material-changed``, which leaves the grams unknown), not a stage gap."""
    s = Scenario(empty_world)
    sites(s)
    s.org("mxtrade", "MX")
    s.site("mxtrade-wh", "mxtrade", "MX", ["repack"])
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 1000)
    s.ship(ore, "mxtrade-wh")
    record = transformation(
        "mxtrade",
        "mxtrade-wh",
        "repack",
        [(ore, 1000)],
        [("lot:mxtrade/OX-1", "ndpr_oxide", 1000)],
        issued_at=ISSUED,
    )
    path = write(tmp_path, record, "mxtrade")

    result = submit(empty_world, path)

    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1, result.stdout
    codes = [f["code"] for f in findings_of(empty_world)]
    assert "material-changed" in codes
    assert "stage-gap" not in codes
