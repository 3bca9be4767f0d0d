"""Demo ledgers, as plans: the story of ``bloc demo`` and the synthetic ones of ``--size``.

:func:`story` is the sample ``bloc demo`` builds: twenty-two named (fictional) companies in
twelve countries, about three hundred records, clean chains and a handful of deliberate
problems, each reaching a US defense buyer. :func:`synthetic` builds ledgers of any size
shaped like real chains (fan-in at separators and magnet makers, five to eight stages deep,
blends and splits, some chains through covered countries, a few problems at a low rate),
for tests and benchmarks. Both return a :class:`Plan`: every record in submission order
with the participant whose key signs it, the keys, the lots worth looking at and the date
to check at. :func:`envelopes` signs a plan.

Guarantees:

- pure and deterministic: no clock, no global random state, no I/O; the same arguments
  give the same records, keys and envelope bytes;
- submitted in order to an empty ledger whose registrar signs the registry records, every
  record is accepted (registrations first; a lot is created, shipped and received before
  the facility that processes it acts on it; a revocation comes after what it taints);
- every ``issued_at`` and every event date lies between 2025-01-02 and 2026-10-31, and the
  log is in date order;
- the only integrity findings are the intended ones: ``mass-balance`` (phantom repacks),
  ``revoked-key`` (records signed with a stolen key) and ``not-received`` (shipments that
  never arrived).

Masses in the records are ``int`` or :class:`~decimal.Decimal` kilograms (never binary
floats): serialise a record with :func:`ledger.core.codec.canonical_json`.
"""

from ledger.demo._plan import AS_OF, Item, Plan, envelopes
from ledger.demo._story import story
from ledger.demo._synthetic import synthetic

__all__ = [
    "AS_OF",
    "Item",
    "Plan",
    "envelopes",
    "story",
    "synthetic",
]
