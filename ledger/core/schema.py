"""Loading and applying the JSON Schema documents in ``schemas/`` (the only ``jsonschema`` user).

The documents are package data of ``ledger.schemas``; they are the single source of truth
for every wire format. Validation uses Draft 2020-12 with format checking switched on
(``date-time`` through ``rfc3339-validator``), and the first error is reported as one line
that names the field and the value.

The ``jsonschema`` library is the reference. A compiled validator (``jsonschema-rs``, about
a hundred times faster) answers first: when it accepts a document the reference is not
asked; when it does not, the reference decides and explains. A differential test
(``tests/property/test_schema_differential.py``) holds the two to the same answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import referencing
import referencing.jsonschema

from ledger.errors import InputError

if TYPE_CHECKING:
    import jsonschema

_PACKAGE = "ledger.schemas"


def read_document(name: str) -> Any:
    """A JSON document shipped in ``ledger.schemas`` (schemas and data such as the vocabulary)."""
    try:
        text = resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise LookupError(f"no document {name!r} in {_PACKAGE}") from e
    return json.loads(text)


def schema_names() -> list[str]:
    """File names of every schema document shipped."""
    return sorted(
        entry.name
        for entry in resources.files(_PACKAGE).iterdir()
        if entry.name.endswith(".schema.json")
    )


@cache
def _registry() -> referencing.Registry[Any]:
    resources_ = []
    for name in schema_names():
        document = read_document(name)
        resource = referencing.Resource.from_contents(
            document, default_specification=referencing.jsonschema.DRAFT202012
        )
        resources_.append((document["$id"], resource))
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources_)
    return registry.crawl()


@cache
def _inlined(name: str) -> dict[str, Any]:
    """The schema document ``name`` with every reference inlined.

    References are inlined once: resolving ``$ref`` on every validation costs more than the
    validation itself. Our schemas are not recursive.
    """
    document = read_document(name)
    resolver = _registry().resolver(base_uri=document["$id"])
    inlined: dict[str, Any] = _inline(document, resolver, depth=0)
    return inlined


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    """The reference validator for the schema document ``name`` (e.g. ``"record.schema.json"``):
    what explains a rejection the compiled validator found. Imported only then (a command
    whose input is valid never needs it)."""
    import jsonschema

    return jsonschema.Draft202012Validator(
        _inlined(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _inline(node: Any, resolver: referencing._core.Resolver[Any], *, depth: int) -> Any:
    if depth > 32:
        raise ValueError("schema references nest too deeply (a recursive schema?)")
    if isinstance(node, list):
        return [_inline(item, resolver, depth=depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        target = _inline(resolved.contents, resolved.resolver, depth=depth + 1)
        rest = {k: _inline(v, resolver, depth=depth) for k, v in node.items() if k != "$ref"}
        return {**rest, "allOf": [target]} if rest else target
    return {key: _inline(value, resolver, depth=depth) for key, value in node.items()}


def check_schemas() -> None:
    """Check every shipped schema against the Draft 2020-12 meta-schema.

    Raises:
        jsonschema.exceptions.SchemaError: for the first schema that is not valid.
    """
    import jsonschema

    for name in schema_names():
        jsonschema.Draft202012Validator.check_schema(read_document(name))


@cache
def compiled(name: str) -> Any:
    """The compiled validator of the schema document ``name`` (same inlined document)."""
    return jsonschema_rs.validator_for(_inlined(name), validate_formats=True)


def validate(instance: Any, schema: str, *, what: str) -> None:
    """Validate ``instance`` against the schema document named ``schema``.

    Raises:
        InputError: one line naming the first offending field and value.
    """
    if compiled(schema).is_valid(instance):
        return
    errors = list(validator(schema).iter_errors(instance))
    if not errors:
        return
    for error in errors:
        # A described alternative ("at least one of ...") speaks for itself; best_match
        # would descend into one branch and blame a field that is not the problem.
        if error.validator in ("anyOf", "oneOf") and "description" in _as_dict(error.schema):
            raise InputError(f"{_path(error.absolute_path, what)} {error.schema['description']}")
    from jsonschema.exceptions import best_match

    best = best_match(errors)
    assert best is not None
    first = _describe(best, what)
    # The other fields' problems too (one per field), so that a record is not fixed one
    # field per attempt.
    seen = {(tuple(best.absolute_path), _kind(best.validator))}
    more: list[str] = []
    for error in errors:
        where = (tuple(error.absolute_path), _kind(error.validator))
        # One problem per field and kind: a pattern and a format failing on one value are
        # one problem; a missing field and an unknown one on one object are two.
        if where not in seen and not error.context:
            seen.add(where)
            more.append(_describe(error, what))
    if more:
        first += f"; also {'; '.join(more[:_MORE])}" + ("; ..." if len(more) > _MORE else "")
    raise InputError(first)


def _kind(keyword: Any) -> str:
    """What a failed keyword is about: the object's fields, or the value itself."""
    return str(keyword) if keyword in ("required", "additionalProperties") else "value"


_MORE = 4
"""Problems listed after the first one, at most."""


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _path(parts: Iterable[Any], what: str) -> str:
    text = what
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        shown = value if len(value) <= 80 else value[:77] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return json.dumps(value)


def _describe(error: jsonschema.ValidationError, what: str) -> str:
    path = _path(error.absolute_path, what)
    keyword = error.validator
    # The error's fields are typed loosely (they may be "unset"); read them as plain values.
    value: Any = error.instance
    expected: Any = error.validator_value
    subschema: Any = error.schema
    described = (
        _describe_fields(keyword, path, value, expected, subschema)
        or _describe_value(keyword, path, value, expected)
        or _describe_bound(keyword, path, value, expected)
    )
    return described or f"{path}: {error.message}"


def _describe_fields(
    keyword: Any, path: str, value: Any, expected: Any, subschema: Any
) -> str | None:
    """An object's missing or unknown field (``None`` for other keywords)."""
    if keyword == "required":
        missing = [name for name in expected if name not in value]
        return f"{path}: missing required {_fields(missing)}"
    if keyword == "additionalProperties":
        allowed = set(subschema.get("properties", {}))
        extra = sorted(set(value) - allowed)
        return f"{path}: unknown {_fields(extra)}" if extra else None
    return None


def _fields(names: list[str]) -> str:
    listed = ", ".join(repr(name) for name in names)
    return f"field {listed}" if len(names) == 1 else f"fields {listed}"


def _describe_value(keyword: Any, path: str, value: Any, expected: Any) -> str | None:
    """A value of the wrong type, format, form or choice (``None`` for other keywords)."""
    if keyword == "type":
        return f"{path} must be of type {expected}, got {_show(value)}"
    if keyword == "format":
        return f"{path} {_show(value)} is not a valid {expected}{_FORMATS.get(expected, '')}"
    if keyword == "pattern":
        return f"{path} {_show(value)} does not have the required form"
    if keyword in ("enum", "const"):
        options = expected if keyword == "enum" else [expected]
        choices = ", ".join(_show(v) for v in options)
        return f"{path} {_show(value)} is not one of {choices}"
    return None


_FORMATS = {"date-time": " (RFC 3339 with an offset, e.g. 2026-05-01T10:00:00Z)"}
"""What a format looks like, for the formats the schemas use."""

_RELATIONS = {
    "minimum": "at least",
    "exclusiveMinimum": "more than",
    "maximum": "at most",
    "exclusiveMaximum": "less than",
}


def _describe_bound(keyword: Any, path: str, value: Any, expected: Any) -> str | None:
    """A number, list or string out of its bounds (``None`` for other keywords)."""
    if keyword in _RELATIONS:
        return f"{path} {_show(value)} must be {_RELATIONS[keyword]} {expected}"
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        noun = "item" if expected == 1 else "items"
        return f"{path} must have {bound} {expected} {noun}, has {len(value)}"
    if keyword in ("minLength", "maxLength"):
        bound = "at least" if keyword == "minLength" else "at most"
        return f"{path} must be {bound} {expected} characters long"
    if keyword == "uniqueItems":
        return f"{path} lists the same item twice"
    return None
