"""The sample ledger ``bloc demo`` builds: its cast, then its chapters in order."""

from __future__ import annotations

from ledger.demo._plan import Plan
from ledger.demo._story_cast import _Story
from ledger.demo._story_metals import tantalum, tungsten
from ledger.demo._story_rare_earths import rare_earths, relabelled_chinese_magnets


def story(*, seed: int = 2026) -> Plan:
    """The sample ledger ``bloc demo`` builds (the seed only chooses the keys).

    Twenty-two companies in twelve countries; rare-earth chains from Australia, the US and
    China through separators in Malaysia, Estonia and China to magnet makers in Japan,
    Germany, Estonia and China; tungsten from Rwanda and Portugal through Vietnam and Korea;
    tantalum from Australia and Rwanda through Germany; a Mexican trader; three US defense
    contractors. Deliberate problems, each delivered for defense: a transshipment through
    Mexico with relabelling, a commingled heat with 5% Chinese oxide, a phantom-mass
    repack, a stolen and revoked key, a shipment never received, an operator a Chinese
    state group holds 30% of, and magnets sintered in China and relabelled in Mexico
    (failing today's DFARS window). ``highlights`` names the lots that show each one,
    and the clean lots.
    """
    chains = _Story(seed)
    rare_earths(chains)
    tungsten(chains)
    tantalum(chains)
    relabelled_chinese_magnets(chains)  # last: the earlier records keep their log indexes
    return chains.b.plan(chains.highlights)
