"""The compiled validator (``jsonschema-rs``) against the reference (``jsonschema``).

``ledger.core.schema.validate`` lets the compiled validator accept a document without asking the
reference, so the two must give the same answer on every document: the worked examples,
and random mutations of them — a value anywhere replaced by an awkward one (edge-case
date-times and dates, ids with a trailing newline, control characters, huge and negative
decimals, the wrong type), a key removed, or an unknown key added.
"""

from __future__ import annotations

import base64
import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core import schema

from helpers import load_example

EXAMPLES = [
    "extraction.json",
    "facility.json",
    "key_revocation.json",
    "participant.json",
    "participant-feoc.json",
    "receipt.json",
    "shipment.json",
    "transformation.json",
    "transformation-alloy.json",
]

AWKWARD_STRINGS = [
    "",
    " ",
    "2026-02-01T08:00:00Z",
    "2026-02-01T08:00:00.123456Z",
    "2026-02-01T08:00:00.1234567Z",
    "2026-02-01T23:59:60Z",
    "2026-02-01T24:00:00Z",
    "2026-02-30T08:00:00Z",
    "2026-02-01t08:00:00z",
    "2026-02-01T08:00:00+25:00",
    "2026-02-01T08:00:00+05:30",
    "2026-02-01T08:00:00-00:00",
    "2026-02-01T08:00:00Z\n",
    "2026-02-01",
    "2026-13-01",
    "2026-02-29",
    "2024-02-29",
    "0000-01-01",
    "org:lynas",
    "org:lynas\n",
    "org:Lynas",
    "fac:lynas-mt-weld",
    "lot:lynas/MW-1",
    "lot:lynas/MW-1\n",
    "ship:lynas/S-1",
    "AU",
    "au",
    "AU\n",
    "AU-WA",
    "ndpr_oxide",
    "separation",
    "mined",
    "recycled",
    "defense",
    "a" * 64,
    "0" * 64,
    "tab\there",
    "\u0085next line",
    "\u00e9t\u00e9",
    "🙂",
]


def _number() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(min_value=-(10**20), max_value=10**20),
        st.decimals(allow_nan=False, allow_infinity=False, places=3, max_value=10**15),
        st.sampled_from(
            [Decimal("0"), Decimal("0.001"), Decimal("-0.001"), Decimal("1e30"), Decimal("1.5")]
        ),
    )


def _value() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(AWKWARD_STRINGS),
        st.text(max_size=12),
        _number(),
        st.booleans(),
        st.none(),
        st.just([]),
        st.just({}),
        st.lists(st.sampled_from(AWKWARD_STRINGS), max_size=3),
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def _mutate(document: Any, data: st.DataObject) -> Any:
    mutated = copy.deepcopy(document)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="changes")):
        paths = [p for p in _paths(mutated) if p]
        path = data.draw(st.sampled_from(paths), label="path")
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]), label="action")
        if action == "replace":
            parent[path[-1]] = data.draw(_value(), label="value")
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["extra", "note", "id", "kind"]))] = data.draw(
                _value(), label="added"
            )
    return mutated


def _agree(document: Any, name: str) -> None:
    reference = schema.validator(name).is_valid(document)
    compiled = schema.compiled(name).is_valid(document)
    assert compiled == reference, (
        f"{name}: reference {reference}, compiled {compiled}: "
        + json.dumps(document, default=str)[:500]
    )


@pytest.mark.parametrize("example", EXAMPLES)
def test_compiled_and_reference_accept_every_example(example: str) -> None:
    record = json.loads(json.dumps(load_example(example)), parse_float=Decimal)
    assert schema.compiled("record.schema.json").is_valid(record)
    _agree(record, "record.schema.json")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), example=st.sampled_from(EXAMPLES))
def test_compiled_and_reference_agree_on_mutated_records(data: st.DataObject, example: str) -> None:
    record = json.loads(json.dumps(load_example(example)), parse_float=Decimal)
    _agree(_mutate(record, data), "record.schema.json")


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_and_reference_agree_on_mutated_envelopes(data: st.DataObject) -> None:
    payload = json.dumps(load_example("extraction.json")).encode()
    envelope = {
        "payloadType": "application/vnd.bloc.record+json",
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "ab" * 32, "sig": base64.b64encode(bytes(64)).decode()}],
    }
    _agree(_mutate(envelope, data), "envelope.schema.json")


@pytest.mark.parametrize("text", AWKWARD_STRINGS)
@pytest.mark.parametrize("field", ["issued_at", "extracted_on", "facility", "signer"])
def test_compiled_and_reference_agree_on_every_awkward_string(field: str, text: str) -> None:
    record = json.loads(json.dumps(load_example("extraction.json")), parse_float=Decimal)
    record[field] = text
    _agree(record, "record.schema.json")
