"""Bytes in, values out: strict JSON, canonical JSON, masses and timestamps.

Guarantees of :func:`parse_json`:

- the input is at most ``max_bytes`` long and valid UTF-8 (no byte-order mark, no lone
  surrogates, even escaped ones);
- no object has the same key twice;
- ``NaN``, ``Infinity`` and ``-Infinity`` are rejected;
- nesting is at most :data:`MAX_DEPTH` deep (the top-level value is depth 1);
- numbers with a fraction or exponent are :class:`decimal.Decimal`, never ``float``.

Masses are read from those decimals and held as integer grams (:func:`mass_to_grams`).
:func:`canonical_json` gives the one byte form used where the library serialises a value
itself (signing a record it filled in, leaf hashes of envelopes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from ledger.errors import InputError

MAX_PAYLOAD_BYTES = 40 * 1024
"""Largest record payload accepted, in bytes (40 KiB): its envelope, with up to 16 Ed25519
signatures, stays well within :data:`MAX_CANONICAL_ENVELOPE_BYTES` (ADR 0033)."""

MAX_ENVELOPE_BYTES = 128 * 1024
"""Largest envelope *input* parsed, in bytes (128 KiB): room for insignificant whitespace around
the largest canonical envelope. The exact limit is :data:`MAX_CANONICAL_ENVELOPE_BYTES`."""

MAX_CANONICAL_ENVELOPE_BYTES = 65_535
"""Largest canonical envelope admitted, in bytes: a C2SP tlog-tiles entry bundle frames each
entry with a big-endian ``uint16`` length, so no longer entry can be served. Equal to
``ledger.log.tiles.MAX_ENTRY_BYTES`` (a test holds them equal; core cannot import log)."""

MAX_DEPTH = 32
"""Deepest nesting accepted; the top-level value is depth 1."""

MAX_MASS_GRAMS = 10**15
"""One billion tonnes: anything above is a typing mistake, not a lot."""

MAX_NUMBER_CHARS = 40
"""Longest number literal accepted: enough for any mass, small enough to print in a message."""

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
"""Where a lone surrogate could hide: raw ones cannot survive UTF-8 decoding."""


def _reject_constant(name: str) -> Any:
    raise InputError(f"{name} is not a JSON number")


def _number_text(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise InputError(
            f"number {text[:12]}... has {len(text)} characters, more than {MAX_NUMBER_CHARS}"
        )
    return text


def _parse_decimal(text: str) -> Decimal:
    value = Decimal(_number_text(text))
    if not -MAX_NUMBER_CHARS <= value.adjusted() <= MAX_NUMBER_CHARS:
        raise InputError(f"number {text} is out of range")
    return value


def _parse_int(text: str) -> int:
    return int(_number_text(text))


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise InputError(f"duplicate key {key!r} in JSON object")
        obj[key] = value
    return obj


def _check_tree(value: Any, depth: int, path: str) -> None:
    """Walk a parsed value: enforce the depth limit and encodable strings."""
    if depth > MAX_DEPTH:
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        _check_str(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_str(key, f"{path} (a key)")
            _check_tree(item, depth + 1, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_tree(item, depth + 1, f"{path}[{i}]")


def _check_str(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = text[e.start]
        raise InputError(
            f"{path} holds a lone surrogate \\u{ord(bad):04x} (not valid Unicode)"
        ) from e


def parse_json(data: bytes, *, max_bytes: int, what: str = "document") -> Any:
    """Parse ``data`` as strict JSON (see the module docstring).

    Raises:
        InputError: naming the first rule ``data`` breaks.
    """
    if len(data) > max_bytes:
        raise InputError(f"{what} is {len(data):,} bytes, more than the {max_bytes:,} allowed")
    if data.startswith(b"\xef\xbb\xbf"):
        raise InputError(f"{what} starts with a UTF-8 byte-order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{what} is not valid UTF-8 (byte {e.start})") from e
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_object,
            parse_constant=_reject_constant,
            parse_float=_parse_decimal,
            parse_int=_parse_int,
        )
    except RecursionError as e:
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels") from e
    except json.JSONDecodeError as e:
        # Some messages end in "at" ("Unterminated string starting at"): say it once.
        message = e.msg.removesuffix(" at")
        raise InputError(
            f"{what} is not valid JSON: {message} at line {e.lineno} column {e.colno}"
        ) from e
    except ValueError as e:  # pragma: no cover - numbers are bounded by the hooks above
        raise InputError(f"{what} is not acceptable JSON") from e
    # The walk is needed only where the text could break a rule: enough brackets to nest a
    # value below the depth limit (scalars count as a level; brackets inside strings only
    # over-count) or an escape that may be a surrogate.
    if text.count("{") + text.count("[") >= MAX_DEPTH or _ESCAPED_SURROGATE.search(text):
        _check_tree(value, 1, what)
    return value


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, Mapping):
        _encode_object(value, out)
    elif isinstance(value, list | tuple):
        _encode_array(value, out)
    else:
        out.append(_scalar_text(value))


def _encode_object(value: Mapping[Any, Any], out: list[str]) -> None:
    out.append("{")
    for i, key in enumerate(sorted(value)):
        if not isinstance(key, str):
            raise TypeError(f"JSON object key {key!r} is not a string")
        if i:
            out.append(",")
        out.append(json.dumps(key, ensure_ascii=False))
        out.append(":")
        _encode(value[key], out)
    out.append("}")


def _encode_array(value: list[Any] | tuple[Any, ...], out: list[str]) -> None:
    out.append("[")
    for i, item in enumerate(value):
        if i:
            out.append(",")
        _encode(item, out)
    out.append("]")


def _scalar_text(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{value} is not a JSON number")
        return _decimal_text(value)
    if isinstance(value, float):
        raise TypeError("binary floats are never serialised; use Decimal")
    return json.dumps(value, ensure_ascii=False)


def _decimal_text(value: Decimal) -> str:
    """Plain positional notation without trailing fractional zeros (``5200.50`` → ``5200.5``)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of a JSON value: sorted keys, no whitespace, UTF-8, plain decimals."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def mass_to_grams(value: object, *, field: str) -> int:
    """Turn a JSON mass in kilograms into integer grams.

    Raises:
        InputError: when the value is not a number, not positive, finer than one gram
            (more than three decimals) or implausibly large.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InputError(f"{field} must be a number of kilograms, got {_short(repr(value))}")
    kg = Decimal(value)
    if not kg.is_finite():
        raise InputError(f"{field} {kg} is not a number of kilograms")
    if kg <= 0:
        raise InputError(f"{field} must be more than 0 kg, got {_mass_for_message(kg)}")
    if kg * 1000 > MAX_MASS_GRAMS:
        raise InputError(
            f"{field} {_mass_for_message(kg)} kg is more than the 1,000,000,000,000 kg allowed"
        )
    if kg != kg.quantize(_GRAM, context=_EXACT):
        raise InputError(f"{field} {_mass_for_message(kg)} kg has more than three decimals")
    return int(kg.scaleb(3, context=_EXACT))


_GRAM = Decimal("0.001")
_EXACT = Context(prec=100, traps=[InvalidOperation])
"""Enough digits for any accepted mass: scaling and quantizing never round."""


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _mass_for_message(value: Decimal) -> str:
    """A mass for a message: plain notation when short, scientific otherwise."""
    if not -20 <= value.adjusted() <= 20:
        return f"{value:.6E}"
    return _short(_decimal_text(value))


def grams_to_kg_text(grams: int) -> str:
    """Kilograms as a plain decimal string (``5200500`` → ``5200.5``)."""
    return _decimal_text(Decimal(grams) / 1000)


def format_kg(grams: int) -> str:
    """A mass for people: ``1200500`` → ``1,200.5 kg``."""
    whole, _, fraction = grams_to_kg_text(abs(grams)).partition(".")
    sign = "-" if grams < 0 else ""
    return f"{sign}{int(whole):,}{'.' + fraction if fraction else ''} kg"


def parse_timestamp(text: str, *, field: str) -> datetime:
    """An RFC 3339 timestamp with an offset, as an aware UTC datetime.

    Leap seconds (``:60``) are rejected: they cannot be ordered reliably.
    """
    match = _RFC3339.fullmatch(text)
    if not match:
        raise InputError(f"{field} {text!r} is not an RFC 3339 timestamp with an offset")
    fraction = match.group(7) or ""
    normal = (
        text[: match.start(7) if fraction else match.end(6)]
        + (fraction[:7] if fraction else "")
        + ("+00:00" if match.group(8) in ("Z", "z") else match.group(8))
    )
    try:
        moment = datetime.fromisoformat(normal.replace("t", "T"))
        return moment.astimezone(UTC)
    except ValueError as e:
        raise InputError(f"{field} {text!r} is not a real date and time") from e
    except OverflowError as e:
        raise InputError(f"{field} {text!r} is out of the supported range of years") from e


def parse_day(text: str, *, field: str) -> date:
    """An ISO 8601 calendar date (``YYYY-MM-DD``)."""
    if not _DATE.fullmatch(text):
        raise InputError(f"{field} {text!r} is not a date of the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise InputError(f"{field} {text!r} is not a real date") from e


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, to the second when there is no fraction."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not timestamps")
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
