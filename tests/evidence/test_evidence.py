"""Evidence bundles (issue 4): built from the ledger, verified offline with root.json alone.

Each tampering test changes one thing a dishonest seller, operator or intermediary could
change — drop a record, alter a mass, swap proofs, re-sign the checkpoint or a record with
another or a revoked key, rewrite the verdict or the policy — and asserts the precise
message ``bloc verify-bundle`` gives.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from scenarios import ISSUED, Scenario, japanese_magnet, magnet_sites

from ledger import evidence
from ledger.compliance import verdict_document
from ledger.compliance.policy import load, parse_policy
from ledger.core.codec import canonical_json
from ledger.core.signing import Signer
from ledger.errors import VerificationError
from ledger.log.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from ledger.log.merkle import EMPTY_ROOT
from ledger.records.envelope import parse_envelope, sign_envelope
from ledger.service import verify_bundle
from ledger.service.home import LOG_KEY

from helpers import (
    World,
    bloc_executable,
    envelope_bytes,
    envelope_of_size,
    extraction,
    key_for,
    participant,
    raw_envelope,
    revocation,
)

DFARS = load("dfars-252.225-7052")
BLOC = load("bloc-2026")
WINDOW_B = date(2027, 2, 1)
WINDOW_A = date(2026, 11, 15)

Doc = dict[str, Any]


def magnet_world(world: World) -> tuple[Scenario, str]:
    """A Japanese magnet whose oxide was separated in China (fails DFARS window B)."""
    s = Scenario(world)
    magnet_sites(s)
    return s, japanese_magnet(s)


def bundle_bytes(world: World, lot: str, **kwargs: Any) -> bytes:
    kwargs.setdefault("policy", DFARS)
    kwargs.setdefault("as_of", WINDOW_B)
    return evidence.to_bytes(world.ledger.evidence(lot, **kwargs))


def parse(data: bytes) -> Doc:
    doc: Doc = json.loads(data, parse_float=Decimal)
    return doc


def dump(doc: Doc) -> bytes:
    return canonical_json(doc)


def payload_of(entry: Doc) -> Doc:
    record: Doc = json.loads(base64.b64decode(entry["envelope"]["payload"]), parse_float=Decimal)
    return record


def find(doc: Doc, predicate: Callable[[Doc], bool]) -> int:
    """Position of the first entry whose record satisfies ``predicate``."""
    for i, entry in enumerate(doc["entries"]):
        if predicate(payload_of(entry)):
            return i
    raise AssertionError("no such entry")


def creates(lot: str) -> Callable[[Doc], bool]:
    def test(record: Doc) -> bool:
        made = record.get("outputs", []) + record.get("lots", [])
        return any(isinstance(m, dict) and m.get("id") == lot for m in made)

    return test


def rejected(world: World, data: bytes, match: str, **kwargs: Any) -> str:
    with pytest.raises(VerificationError, match=match) as caught:
        verify_bundle(data, world.home.root(), **kwargs)
    return str(caught.value)


# -- the happy path ---------------------------------------------------------------------


def test_bundle_verifies_offline_and_reproduces_the_ledgers_verdict(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    data = bundle_bytes(empty_world, magnet)
    report = verify_bundle(data, empty_world.home.root())
    live = empty_world.ledger.check(magnet, policy=DFARS, as_of=WINDOW_B)
    assert report.verdict.verdict == "fail"
    assert verdict_document(report.verdict) == verdict_document(live)
    with empty_world.ledger.store.reader() as tx:
        assert report.checkpoint.tree_size == tx.tree_size
    doc = parse(data)
    kinds = [payload_of(e)["kind"] for e in doc["entries"]]
    # Every event of the chain, and the whole registry below the checkpoint (ADR 0038).
    assert kinds.count("extraction") == 3
    assert kinds.count("transformation") == 5
    with empty_world.ledger.store.reader() as tx:
        registry = [e.kind for e in tx.registry_entries(before=tx.tree_size)]
    assert [k for k in kinds if k in ("participant", "facility", "key_revocation")] == registry
    assert registry.count("participant") >= 4
    assert doc["policy"]["digest"] == DFARS.digest
    assert doc["verdict"]["verdict"] == "fail"


def test_same_ledger_state_gives_the_same_bytes(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    assert bundle_bytes(empty_world, magnet) == bundle_bytes(empty_world, magnet)


def test_bundle_leaves_out_records_about_other_chains(empty_world: World) -> None:
    s, magnet = magnet_world(empty_world)
    other = s.mine("ausmine-pit", "ORE-OTHER", "rare_earth_concentrate", 100)
    doc = parse(bundle_bytes(empty_world, magnet))
    with pytest.raises(AssertionError):
        find(doc, creates(other))


@pytest.mark.parametrize("policy", [DFARS, BLOC], ids=["dfars", "bloc-2026"])
@pytest.mark.parametrize("as_of", [WINDOW_A, WINDOW_B], ids=["window-a", "window-b"])
def test_every_lots_bundle_reproduces_its_verdict(
    empty_world: World, policy: Any, as_of: date
) -> None:
    s, _ = magnet_world(empty_world)
    # A second consumer of the oxide overdraws it: a finding whose cause lies outside the
    # magnet's own upstream, so the bundle must carry that record too.
    oxide = "lot:cnsep/OX-1"
    s.holder[oxide] = "jpmag-takefu"
    s.make("jpmag-takefu", "metal_reduction", [(oxide, 1000)], [("MET-2", "ndpr_metal", 700)])
    with empty_world.ledger.store.reader() as tx:
        lots = sorted(tx.all_lots())
    for lot in lots:
        live = empty_world.ledger.check(lot, policy=policy, as_of=as_of)
        report = verify_bundle(
            bundle_bytes(empty_world, lot, policy=policy, as_of=as_of), empty_world.home.root()
        )
        assert verdict_document(report.verdict) == verdict_document(live), lot


def test_an_overdrawn_input_travels_with_the_bundle(empty_world: World) -> None:
    s, _ = magnet_world(empty_world)
    # The powder went whole into MAG-1; a second sintering draws on it again.
    (second,) = s.make(
        "jpmag-takefu", "sintering", [("lot:jpmag/POW-1", 1000)], [("MAG-2", "ndfeb_magnet", 990)]
    )
    data = bundle_bytes(empty_world, second, as_of=WINDOW_A)
    report = verify_bundle(data, empty_world.home.root())
    assert report.verdict.verdict == "inconclusive"
    assert any("finding" in why for why, _ in report.verdict.unknown_reasons)
    # Dropping the earlier consumption hides the overdraft; the recomputed verdict no
    # longer matches the one recorded.
    doc = parse(data)
    first = find(doc, creates("lot:jpmag/MAG-1"))
    del doc["entries"][first]
    rejected(empty_world, dump(doc), r"recorded verdict \(inconclusive\) does not follow")


# -- tampering ---------------------------------------------------------------------------


def test_dropped_upstream_record_is_named(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    del doc["entries"][find(doc, creates("lot:cnsep/OX-1"))]
    rejected(
        empty_world,
        dump(doc),
        r"incomplete: lot:cnsep/OX-1, consumed by the metal_reduction at log index \d+, has "
        r"no creating record in the bundle",
    )


def test_dropped_lot_record_is_named(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    del doc["entries"][find(doc, creates(magnet))]
    rejected(empty_world, dump(doc), f"incomplete: no record in the bundle creates {magnet}")


def test_changed_mass_breaks_the_signature(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    entry = doc["entries"][find(doc, creates(magnet))]
    record = payload_of(entry)
    record["outputs"][0]["mass_kg"] = Decimal(95000)
    entry["envelope"]["payload"] = base64.b64encode(canonical_json(record)).decode()
    rejected(empty_world, dump(doc), r"transformation .*signature by key \w+ does not verify")


def test_changed_mass_resigned_by_its_owner_breaks_the_inclusion_proof(
    empty_world: World,
) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    entry = doc["entries"][find(doc, creates(magnet))]
    record = payload_of(entry)
    record["outputs"][0]["mass_kg"] = Decimal(95000)
    envelope = sign_envelope(canonical_json(record), [key_for("jpmag")]).canonical_bytes()
    entry["envelope"] = json.loads(envelope)
    rejected(empty_world, dump(doc), "inclusion proof does not verify against the checkpoint")


def test_an_envelope_no_entry_bundle_can_frame_is_refused(empty_world: World) -> None:
    """Replay opens envelopes as admission does (ADR 0033): one whose canonical form is longer
    than 65,535 bytes is refused before its signatures or proof are looked at."""
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    position = find(doc, creates(magnet))
    entry = doc["entries"][position]
    payload = base64.b64decode(entry["envelope"]["payload"])
    oversized = envelope_of_size(payload, key_for("jpmag"), size=65_536, signatures=15)
    entry["envelope"] = json.loads(oversized)
    message = rejected(empty_world, dump(doc), "entry bundle can frame")
    assert message == (
        f"entries[{position}] (log index {entry['log_index']}): envelope: its canonical form is "
        "65,536 bytes, more than the 65,535 an entry bundle can frame (C2SP tlog-tiles)"
    )


def test_swapped_proofs_are_detected(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    a, b = doc["entries"][-1], doc["entries"][-2]
    a["inclusion_proof"], b["inclusion_proof"] = b["inclusion_proof"], a["inclusion_proof"]
    message = rejected(empty_world, dump(doc), "inclusion proof does not verify")
    assert f"log index {b['log_index']}" in message


def test_swapped_log_indexes_are_detected(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    a, b = doc["entries"][-1], doc["entries"][-2]
    a["envelope"], b["envelope"] = b["envelope"], a["envelope"]
    message = rejected(empty_world, dump(doc), "inclusion proof does not verify")
    assert f"log index {b['log_index']}" in message


def test_checkpoint_signed_by_another_key_is_refused(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    root = empty_world.home.root()
    real = verify_checkpoint(doc["checkpoint"], origin=root.origin, key=root.log_key)
    doc["checkpoint"] = sign_checkpoint(real, Signer.generate())
    rejected(
        empty_world,
        dump(doc),
        f"the bundle's checkpoint: .*not signed by the log key {root.log_key.keyid}",
    )


def test_checkpoint_for_a_forged_tree_is_refused(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    root = empty_world.home.root()
    real = verify_checkpoint(doc["checkpoint"], origin=root.origin, key=root.log_key)
    forged = Checkpoint(origin=real.origin, tree_size=real.tree_size, root_hash=bytes(32))
    doc["checkpoint"] = sign_checkpoint(forged, Signer.generate())
    rejected(empty_world, dump(doc), "not signed by the log key")


def test_a_hidden_key_revocation_is_refused(empty_world: World) -> None:
    """The seller drops the revocation of a stolen key from the bundle and recomputes the
    verdict offline: the bundle's registry no longer gives the checkpoint's digest."""
    _, magnet = magnet_world(empty_world)
    jpmag = key_for("jpmag")
    empty_world.register(
        [revocation("jpmag", jpmag.keyid, "2026-05-02T00:00:00Z", issued_at="2026-05-03T00:00:00Z")]
    )
    doc = parse(bundle_bytes(empty_world, magnet))
    verify_bundle(dump(doc), empty_world.home.root())  # the honest bundle verifies
    del doc["entries"][find(doc, lambda r: r["kind"] == "key_revocation")]
    rejected(
        empty_world,
        dump(doc),
        r"the bundle's \d+ registry entries are not the log's registry at tree size \d+ \(its "
        r"registry digest differs\): a participant, facility or key revocation was left out",
    )


def test_an_unrelated_registration_cannot_be_dropped_either(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    empty_world.register([participant("bystander", country="CA")])
    doc = parse(bundle_bytes(empty_world, magnet))
    del doc["entries"][find(doc, lambda r: r.get("id") == "org:bystander")]
    rejected(empty_world, dump(doc), "registry digest differs")


def test_a_checkpoint_without_a_registry_digest_is_refused(empty_world: World) -> None:
    """A checkpoint that commits to no registry (an older bloc's, or one the operator
    re-signed without it) cannot show that nothing was left out."""
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    root = empty_world.home.root()
    real = verify_checkpoint(doc["checkpoint"], origin=root.origin, key=root.log_key)
    assert real.registry is not None
    bare = Checkpoint(origin=real.origin, tree_size=real.tree_size, root_hash=real.root_hash)
    doc["checkpoint"] = sign_checkpoint(bare, empty_world.home.signer(LOG_KEY))
    rejected(empty_world, dump(doc), "commits to no registry state")


def test_record_signed_with_a_revoked_key_is_refused(empty_world: World) -> None:
    s, magnet = magnet_world(empty_world)
    jpmag = key_for("jpmag")
    empty_world.register(
        [revocation("jpmag", jpmag.keyid, "2026-05-02T00:00:00Z", issued_at="2026-05-03T00:00:00Z")]
    )
    unrelated = s.mine("ausmine-pit", "ORE-9", "rare_earth_concentrate", 500)
    doc = parse(bundle_bytes(empty_world, magnet))
    with empty_world.ledger.store.reader() as tx:
        free = tx.lots([unrelated])[unrelated].created_index  # an index the bundle lacks
    # The thief slips a magnet signed with the stolen key into the bundle, after the
    # revocation, at an index the bundle does not otherwise hold.
    forged = extraction(
        "jpmag", "jpmag-takefu", [("lot:jpmag/FAKE-1", "ndfeb_magnet", 10)], issued_at=ISSUED
    )
    forged["issued_at"] = "2026-05-10T00:00:00Z"
    doc["entries"].append(
        {
            "log_index": free,
            "envelope": json.loads(envelope_bytes(forged, jpmag)),
            "inclusion_proof": doc["entries"][-1]["inclusion_proof"],
        }
    )
    rejected(
        empty_world,
        dump(doc),
        rf"log index {free}\), extraction .*key {jpmag.keyid} of org:jpmag is revoked: "
        r"compromised since 2026-05-02T00:00:00Z, record issued 2026-05-10T00:00:00Z",
    )


def test_resigned_old_record_names_the_revoked_key(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    jpmag = key_for("jpmag")
    empty_world.register(
        [revocation("jpmag", jpmag.keyid, "2026-04-01T00:00:00Z", issued_at="2026-05-03T00:00:00Z")]
    )
    doc = parse(bundle_bytes(empty_world, magnet, as_of=WINDOW_A))
    entry = doc["entries"][find(doc, creates(magnet))]
    record = payload_of(entry)
    record["outputs"][0]["mass_kg"] = Decimal(20000)
    entry["envelope"] = json.loads(sign_envelope(canonical_json(record), [jpmag]).canonical_bytes())
    rejected(
        empty_world,
        dump(doc),
        rf"inclusion proof does not verify.*signed by key {jpmag.keyid}, which log index \d+ "
        r"revokes",
    )


def test_rewritten_verdict_is_refused(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    doc["verdict"]["verdict"] = "pass"
    rejected(
        empty_world,
        dump(doc),
        r"recorded verdict \(pass\) does not follow from its records, which give fail",
    )


def test_altered_policy_is_refused(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    doc["policy"]["document"]["title"] = "lenient"
    rejected(empty_world, dump(doc), "policy document's digest is .* \\(policy altered\\)")


def test_doctored_policy_under_a_builtin_name_is_refused(empty_world: World) -> None:
    """The seller drops China from DFARS's covered nations, keeps the name, recomputes the
    digest and the verdict: the bundle is self-consistent, but not the built-in."""
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    document = doc["policy"]["document"]
    covered = document["country_sets"][document["location"]["set"]]["members"]
    document["country_sets"][document["location"]["set"]]["members"] = [
        m for m in covered if m["country"] not in ("CN", "HK", "MO")
    ]
    doc["policy"]["digest"] = evidence.policy_digest(document)
    rejected(
        empty_world,
        dump(doc),
        "judged under policy 'dfars-252.225-7052' with digest .*, not the "
        "dfars-252.225-7052 you accept .*substituted",
    )


def test_own_policy_verifies_unpinned_and_can_be_pinned(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    custom = dict(DFARS.document) | {"name": "acme-magnets-2027"}
    policy = parse_policy(canonical_json(custom))
    data = bundle_bytes(empty_world, magnet, policy=policy)
    report = verify_bundle(data, empty_world.home.root())
    assert report.policy_pinned is False
    assert report.verdict.verdict == "fail"
    assert verify_bundle(data, empty_world.home.root(), expected_policy=policy).policy_pinned
    rejected(empty_world, data, "not the bloc-2026 you accept", expected_policy=BLOC)


def test_outer_policy_name_must_match_the_document(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    doc["policy"]["name"] = "bloc-2026"
    rejected(empty_world, dump(doc), "bundle.policy.name 'bloc-2026' is not the name in the")


def test_policy_padded_with_millions_of_values_is_refused_before_it_is_hashed(
    empty_world: World,
) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    doc["policy"]["document"]["padding"] = [0] * 60_000
    rejected(empty_world, dump(doc), "bundle.policy.document holds more than 50,000 JSON values")


def test_boolean_share_is_not_zero(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet, as_of=WINDOW_A))
    assert doc["verdict"]["shares"]["unknown"] == 0
    doc["verdict"]["shares"]["unknown"] = False
    rejected(empty_world, dump(doc), "does not follow from its records.*'shares'")


def test_multiline_claimed_verdict_stays_on_one_line(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    doc["verdict"]["verdict"] = "pass\nverified: all good"
    message = rejected(empty_world, dump(doc), "recorded verdict \\('pass\\\\nverified")
    assert "\n" not in message


def test_dropped_signer_registration_is_named(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    del doc["entries"][find(doc, lambda r: r["kind"] == "participant" and r["id"] == "org:jpmag")]
    rejected(empty_world, dump(doc), r"keyid \w+ is not a registered participant key")


@pytest.mark.parametrize("written", ["5.0", "5e0", "5E0", "5.00"])
def test_a_log_index_written_as_a_real_number_is_a_malformed_bundle(
    empty_world: World, written: str
) -> None:
    _, magnet = magnet_world(empty_world)
    data = bundle_bytes(empty_world, magnet)
    index = parse(data)["entries"][2]["log_index"]
    doctored = data.replace(b'"log_index":%d}' % index, b'"log_index":%s}' % written.encode(), 1)
    assert doctored != data
    rejected(
        empty_world,
        doctored,
        r"not a valid evidence bundle: bundle.entries\[2\].log_index \S+ is not written as an "
        r"integer",
    )


def test_entries_out_of_order_are_refused(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    doc = parse(bundle_bytes(empty_world, magnet))
    doc["entries"][0], doc["entries"][1] = doc["entries"][1], doc["entries"][0]
    rejected(empty_world, dump(doc), "not in strictly increasing log order")


def test_another_ledgers_root_refuses_the_bundle(empty_world: World, tmp_path: Path) -> None:
    from ledger.service.home import init_home

    _, magnet = magnet_world(empty_world)
    other = init_home(tmp_path / "other", origin="test.bloc/ledger").root()
    with pytest.raises(VerificationError, match="not signed by the log key"):
        verify_bundle(bundle_bytes(empty_world, magnet), other)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "not valid JSON"),
        (b"[]", "bundle"),
        (b'{"format": "bloc-evidence/1"}', "bundle"),
        (b"\xff", "not valid UTF-8"),
    ],
    ids=["empty", "array", "missing-fields", "not-utf8"],
)
def test_not_a_bundle_is_one_clear_error(world: World, data: bytes, match: str) -> None:
    with pytest.raises(VerificationError, match=f"not a valid evidence bundle: .*{match}"):
        verify_bundle(data, world.home.root())


# -- the log only grew -------------------------------------------------------------------


def test_since_a_kept_checkpoint_the_log_only_grew(empty_world: World) -> None:
    s, _ = magnet_world(empty_world)
    kept = empty_world.ledger.latest_checkpoint()[1]
    extra = s.mine("ausmine-pit", "ORE-9", "rare_earth_concentrate", 500)
    data = bundle_bytes(empty_world, extra, since=kept)
    report = verify_bundle(data, empty_world.home.root(), since=kept)
    assert report.consistency is not None
    old, new = report.consistency
    assert old < new
    # Without a proof from that size, the bundle cannot show it.
    plain = bundle_bytes(empty_world, extra)
    rejected(empty_world, plain, "carries no consistency proof from tree size", since=kept)


def test_a_kept_checkpoint_from_a_fork_is_detected(empty_world: World) -> None:
    s, _ = magnet_world(empty_world)
    kept = empty_world.ledger.latest_checkpoint()[1]
    extra = s.mine("ausmine-pit", "ORE-9", "rare_earth_concentrate", 500)
    doc = parse(bundle_bytes(empty_world, extra, since=kept))
    doc["consistency"]["old_root"] = "00" * 32
    rejected(empty_world, dump(doc), r"another root hash .*\(a fork\)", since=kept)
    doc = parse(bundle_bytes(empty_world, extra, since=kept))
    doc["consistency"]["proof"][0] = "00" * 32
    rejected(empty_world, dump(doc), "did not only grow", since=kept)


def test_the_empty_tree_is_a_prefix_of_every_log(empty_world: World) -> None:
    _, magnet = magnet_world(empty_world)
    root = empty_world.home.root()
    empty = sign_checkpoint(
        Checkpoint(origin=root.origin, tree_size=0, root_hash=EMPTY_ROOT),
        empty_world.home.signer(LOG_KEY),
    )
    report = verify_bundle(bundle_bytes(empty_world, magnet), root, since=empty)
    assert report.consistency is not None
    assert report.consistency[0] == 0


def test_a_kept_checkpoint_newer_than_the_bundle_is_refused(empty_world: World) -> None:
    s, magnet = magnet_world(empty_world)
    old_bundle = bundle_bytes(empty_world, magnet)
    s.mine("ausmine-pit", "ORE-9", "rare_earth_concentrate", 500)
    kept = empty_world.ledger.latest_checkpoint()[1]
    rejected(empty_world, old_bundle, "is newer than the bundle's", since=kept)


# -- the command line --------------------------------------------------------------------


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Any:
    environment = {k: v for k, v in os.environ.items() if k != "BLOC_HOME"}
    environment.update(env or {})
    return subprocess.run(
        [bloc_executable(), *args], cwd=cwd, env=environment, capture_output=True, text=True
    )


@pytest.mark.slow
def test_verify_bundle_needs_only_the_bundle_and_root_json(
    empty_world: World, tmp_path: Path
) -> None:
    _, magnet = magnet_world(empty_world)
    home = str(empty_world.home.path)
    made = run(
        [
            *("--home", home, "evidence", magnet, "--policy", DFARS.name),
            *("--as-of", "2027-02-01", "-o", str(tmp_path / "magnet.bundle.json")),
        ],
        tmp_path,
    )
    assert made.returncode == 0, made.stderr
    assert "verdict fail" in made.stdout
    offline = tmp_path / "offline"
    offline.mkdir()
    (offline / "magnet.bundle.json").write_bytes((tmp_path / "magnet.bundle.json").read_bytes())
    (offline / "root.json").write_bytes(empty_world.home.root_path.read_bytes())
    result = run(["verify-bundle", "magnet.bundle.json", "--root", "root.json"], offline)
    assert result.returncode == 0, result.stderr
    assert "verified:" in result.stdout
    assert f"{magnet}: FAIL under {DFARS.name}" in result.stdout
    assert sorted(p.name for p in offline.iterdir()) == ["magnet.bundle.json", "root.json"]
    as_json = run(["verify-bundle", "magnet.bundle.json", "--root", "root.json", "--json"], offline)
    body = json.loads(as_json.stdout)
    assert body["verified"] is True
    assert body["verdict"]["verdict"] == "fail"

    doc = parse((offline / "magnet.bundle.json").read_bytes())
    doc["verdict"]["verdict"] = "pass"
    (offline / "magnet.bundle.json").write_bytes(dump(doc))
    bad = run(["verify-bundle", "magnet.bundle.json", "--root", "root.json"], offline)
    assert bad.returncode == 3
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("bloc: error: the bundle's recorded verdict (pass)")


def test_evidence_for_an_unknown_lot_is_a_usage_error(world: World, tmp_path: Path) -> None:
    result = run(
        [
            *("--home", str(world.home.path), "evidence", "lot:nobody/X"),
            *("--policy", DFARS.name, "-o", str(tmp_path / "x.json")),
        ],
        tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr == "bloc: error: lot lot:nobody/X does not exist\n"
    assert not (tmp_path / "x.json").exists()


def test_truncated_bundle_exits_3_with_one_line(world: World, tmp_path: Path) -> None:
    data = bundle_bytes(world, "lot:lynas/NDPR-1")
    (tmp_path / "b.json").write_bytes(data[: len(data) // 2])
    (tmp_path / "root.json").write_bytes(world.home.root_path.read_bytes())
    result = run(["verify-bundle", "b.json", "--root", "root.json"], tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("bloc: error: not a valid evidence bundle: ")
    assert result.stderr.count("\n") == 1


def test_an_old_bundle_still_verifies_after_the_log_grows(world: World) -> None:
    lot = "lot:lynas/NDPR-1"
    before = bundle_bytes(world, lot)
    live = world.ledger.check(lot, policy=DFARS, as_of=WINDOW_B)
    world.submit(
        [
            envelope_bytes(
                extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-2", "rare_earth_ore", 5)]),
                world.lynas,
            )
        ]
    )
    report = verify_bundle(before, world.home.root())
    assert verdict_document(report.verdict) == verdict_document(live)
    assert bundle_bytes(world, lot) != before  # a new checkpoint, new proofs


def test_the_registry_count_of_a_bundle_skips_a_kind_that_is_not_a_name(
    empty_world: World,
) -> None:
    """``bloc evidence`` counts the registry entries of the bundle it writes by the kind each
    payload names; a bundle from a hostile server whose kind is a list or an object must
    count as not a registry entry, never crash the command (verify-bundle refuses it)."""
    _, magnet = magnet_world(empty_world)
    bundle = empty_world.ledger.evidence(magnet, policy=DFARS, as_of=WINDOW_B)
    counted = evidence.registry_entries(bundle)
    assert counted > 0
    first = next(
        i for i, e in enumerate(bundle.entries) if evidence.registry_entries(
            replace(bundle, entries=(e,))
        )
    )  # fmt: skip
    for kind in (["participant"], {"participant": 1}, 7, None):
        record = {
            **json.loads(parse_envelope(bundle.entries[first].envelope).payload),
            "kind": kind,
        }
        odd = replace(
            bundle.entries[first],
            envelope=raw_envelope(canonical_json(record), empty_world.registrar),
        )
        entries = (*bundle.entries[:first], odd, *bundle.entries[first + 1 :])
        assert evidence.registry_entries(replace(bundle, entries=entries)) == counted - 1, kind
