"""``bloc evidence`` and ``bloc verify-bundle``: proof of a lot's provenance to keep offline."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from ledger import compliance
from ledger import evidence as bundles
from ledger.compliance import policy as policies
from ledger.core.files import read_bounded
from ledger.errors import ConfigError, InputError
from ledger.log.checkpoint import MAX_NOTE_BYTES, verify_checkpoint
from ledger.records.trust import MAX_ROOT_BYTES, TrustRoot
from ledger.service import verify_bundle

from .common import (
    DATE,
    as_of_day,
    current_home,
    emit_json,
    json_option,
    output_option,
    refuse_existing,
    remote_ledger,
    write_output,
)
from .compliance import print_verdict

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _read(path: Path, limit: int, what: str) -> bytes:
    """At most ``limit`` bytes of the regular file ``path``; a larger file is refused."""
    try:
        return read_bounded(path, limit=limit, what=what)
    except ConfigError as e:
        raise InputError(str(e)) from e


def _note(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return _read(path, MAX_NOTE_BYTES, "a checkpoint").decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: a checkpoint is UTF-8 text") from e


@click.command()
@click.argument("lot")
@click.option("--policy", "policy_name", required=True, help="A built-in policy name or a file.")
@click.option(
    "--as-of", type=DATE, help="The delivery date that picks the window (default: today)."
)
@click.option(
    "--since",
    type=_FILE,
    help="A checkpoint you kept ('bloc log checkpoint'): the bundle also proves the log only "
    "grew since.",
)
@output_option("The bundle file to write.", required=True)
@json_option
@click.pass_context
def evidence(
    ctx: click.Context,
    lot: str,
    policy_name: str,
    as_of: date | None,
    since: Path | None,
    output: Path,
    force: bool,
    as_json: bool,
) -> None:
    """Write an evidence bundle for LOT: its upstream records and the whole key registry,
    with inclusion proofs against one witnessed checkpoint, the policy and the verdict.
    'bloc verify-bundle' checks it offline with root.json alone."""
    refuse_existing(output, force=force)
    chosen = policies.load(policy_name)
    home = current_home(ctx)
    remote = remote_ledger(home)
    if remote is not None:
        if since is not None:
            raise click.UsageError(
                "--since needs the ledger's database; a remote home checks "
                "every checkpoint against the one it kept"
            )
        data, _ = remote.evidence_bytes(lot, policy=chosen, as_of=as_of_day(as_of))
        bundle = bundles.parse_bundle(data)
    else:
        ledger = home.ledger(writer=False)
        bundle = ledger.evidence(lot, policy=chosen, as_of=as_of_day(as_of), since=_note(since))
        data = bundles.to_bytes(bundle)
    root = home.root()
    size = verify_checkpoint(bundle.checkpoint, origin=root.origin, key=root.log_key).tree_size
    registry = bundles.registry_entries(bundle)
    write_output(data, output, force=force)
    if as_json:
        emit_json(
            {
                "output": str(output),
                "lot": lot,
                "records": len(bundle.entries) - registry,
                "registry_entries": registry,
                "tree_size": size,
                "verdict": bundle.verdict["verdict"],
                "policy": chosen.name,
                "as_of": str(bundle.as_of),
            }
        )
        return
    click.echo(
        f"wrote {output}: {len(bundle.entries) - registry} records about {lot} and the "
        f"registry ({registry} entries), with inclusion proofs against checkpoint tree size "
        f"{size}; verdict {bundle.verdict['verdict']} under {chosen.name} as of {bundle.as_of}"
    )


@click.command("verify-bundle")
@click.argument("bundle", type=_FILE)
@click.option("--root", "root_path", required=True, type=_FILE, help="The ledger's root.json.")
@click.option(
    "--since",
    type=_FILE,
    help="A checkpoint you kept: also prove the log only grew from it to the bundle's.",
)
@click.option(
    "--policy",
    "policy_name",
    help="The policy you accept (a built-in name or a file): the bundle's must be exactly "
    "it. Default: a bundle under a built-in's name must carry this version's built-in.",
)
@json_option
@click.pass_context
def verify_bundle_command(
    ctx: click.Context,
    bundle: Path,
    root_path: Path,
    since: Path | None,
    policy_name: str | None,
    as_json: bool,
) -> None:
    """Check an evidence bundle offline, with no ledger: the checkpoint's signature and its
    witnesses' quorum against root.json, every inclusion proof, every signature against the
    registrations in the bundle, that the upstream and the registry are complete; then
    recompute the verdict and compare.

    Exits 0 when everything holds (and prints the verdict), 3 naming the first problem.
    """
    root = TrustRoot.from_bytes(_read(root_path, MAX_ROOT_BYTES, "root.json"))
    data = _read(bundle, bundles.MAX_BUNDLE_BYTES, "an evidence bundle")
    accepted = policies.load(policy_name) if policy_name else None
    report = verify_bundle(data, root, since=_note(since), expected_policy=accepted)
    verdict = report.verdict
    checkpoint = report.checkpoint
    if as_json:
        emit_json(
            {
                "verified": True,
                "lot": verdict.lot,
                "entries": report.entries,
                "checkpoint": {
                    "origin": checkpoint.origin,
                    "tree_size": checkpoint.tree_size,
                    "root_hash": checkpoint.root_hash.hex(),
                },
                "policy": {
                    "name": report.policy.name,
                    "digest": report.policy.digest,
                    "pinned": report.policy_pinned,
                },
                "grew_from": report.consistency[0] if report.consistency else None,
                "verdict": compliance.verdict_document(verdict),
            }
        )
        return
    witnessed = f", cosigned by {', '.join(report.cosigned)}" if report.cosigned else ""
    click.echo(
        f"verified: {report.entries - report.registry} records about {verdict.lot} and the "
        f"complete registry ({report.registry} entries), each signed and included in "
        f"{checkpoint.origin} at tree size {checkpoint.tree_size} (root "
        f"{checkpoint.root_hash.hex()[:16]}…), checkpoint signed by the log key of root.json"
        f"{witnessed}"
    )
    if report.consistency is not None:
        old, new = report.consistency
        click.echo(f"consistent: the log only grew from tree size {old} to {new}")
    pinned = (
        "the one you accept"
        if report.policy_pinned
        else "NOT a built-in: the bundle's own policy; pin the one you accept with --policy"
    )
    click.echo(f"policy: {report.policy.name} sha256:{report.policy.digest[:16]}… ({pinned})")
    click.echo("verdict recomputed from the bundle's records; it matches the one recorded:")
    print_verdict(verdict)
