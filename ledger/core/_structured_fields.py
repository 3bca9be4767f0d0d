"""Structured Field Values for HTTP (RFC 8941): dictionaries in, inner lists and items out.

Only what HTTP Message Signatures needs: parsing a Dictionary field value (§4.2.2) and the
strict serialization of items, parameters and inner lists (§4.1). The parser follows the
RFC's algorithms step by step and accepts every valid formatting (optional whitespace, any
parameter order) with two deliberate refusals: a duplicated dictionary key or parameter key
is an error rather than "last one wins", because two parsers that resolve it differently
would read different meanings from the same signed bytes.

Errors are :class:`ledger.errors.InputError` naming the offset of the first bad character.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TypeAlias

from ledger.errors import InputError

_DIGITS = frozenset("0123456789")
_LCALPHA = frozenset("abcdefghijklmnopqrstuvwxyz")
_ALPHA = _LCALPHA | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_KEY_FIRST = _LCALPHA | {"*"}
_KEY_CHARS = _LCALPHA | _DIGITS | frozenset("_-.*")
_TCHAR = _ALPHA | _DIGITS | frozenset("!#$%&'*+-.^_`|~")
_TOKEN_CHARS = _TCHAR | frozenset(":/")
_BASE64 = _ALPHA | _DIGITS | frozenset("+/=")
_OWS = frozenset(" \t")
_SP = frozenset(" ")
_MAX_INTEGER = 999_999_999_999_999
_MAX_DECIMAL_INTEGER_PART = 999_999_999_999


@dataclass(frozen=True, slots=True)
class Token:
    """An sf-token (kept apart from a String, which serializes with quotes)."""

    value: str


BareItem: TypeAlias = bool | int | Decimal | str | bytes | Token
Params: TypeAlias = tuple[tuple[str, BareItem], ...]


@dataclass(frozen=True, slots=True)
class Item:
    value: BareItem
    params: Params = ()


@dataclass(frozen=True, slots=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = ()


Member: TypeAlias = Item | InnerList


class _Reader:
    """A cursor over the field value; ``peek`` is ``""`` at the end."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.error(f"expected {char!r}")
        self.pos += 1

    def skip(self, chars: frozenset[str]) -> None:
        while self.peek() in chars:
            self.pos += 1

    def error(self, message: str) -> InputError:
        return InputError(f"{message} at offset {self.pos}")


# --- parsing (RFC 8941 §4.2) -----------------------------------------------------------------


def parse_dictionary(text: str) -> dict[str, Member]:
    """Parse a Dictionary field value; members keep the order in which they were sent.

    Raises:
        InputError: the value is not a valid Dictionary, or repeats a key.
    """
    if not text.isascii():
        raise InputError("a structured field is ASCII")
    reader = _Reader(text)
    reader.skip(_SP)
    members = _dictionary(reader)
    reader.skip(_SP)
    if not reader.at_end():
        raise reader.error("unexpected character")
    return members


def _dictionary(reader: _Reader) -> dict[str, Member]:
    members: dict[str, Member] = {}
    while not reader.at_end():
        key = _key(reader)
        if key in members:
            raise reader.error(f"dictionary key {key!r} repeated")
        members[key] = _member(reader)
        reader.skip(_OWS)
        if reader.at_end():
            break
        reader.expect(",")
        reader.skip(_OWS)
        if reader.at_end():
            raise reader.error("trailing comma")
    return members


def _member(reader: _Reader) -> Member:
    if reader.peek() != "=":
        return Item(True, _params(reader))
    reader.take()
    if reader.peek() == "(":
        return _inner_list(reader)
    return _item(reader)


def _inner_list(reader: _Reader) -> InnerList:
    reader.expect("(")
    items: list[Item] = []
    while not reader.at_end():
        reader.skip(_SP)
        if reader.peek() == ")":
            reader.take()
            return InnerList(tuple(items), _params(reader))
        items.append(_item(reader))
        if reader.peek() not in (" ", ")", ""):
            raise reader.error("expected a space or ')' in an inner list")
    raise reader.error("inner list is not closed")


def _item(reader: _Reader) -> Item:
    value = _bare_item(reader)
    return Item(value, _params(reader))


def _params(reader: _Reader) -> Params:
    params: list[tuple[str, BareItem]] = []
    while reader.peek() == ";":
        reader.take()
        reader.skip(_SP)
        key = _key(reader)
        if any(key == seen for seen, _ in params):
            raise reader.error(f"parameter {key!r} repeated")
        value: BareItem = True
        if reader.peek() == "=":
            reader.take()
            value = _bare_item(reader)
        params.append((key, value))
    return tuple(params)


def _key(reader: _Reader) -> str:
    if reader.peek() not in _KEY_FIRST:
        raise reader.error("expected a key")
    start = reader.pos
    reader.skip(_KEY_CHARS)
    return reader.text[start : reader.pos]


def _bare_item(reader: _Reader) -> BareItem:
    char = reader.peek()
    if char == "-" or char in _DIGITS:
        return _number(reader)
    if char == '"':
        return _string(reader)
    if char == ":":
        return _byte_sequence(reader)
    if char == "?":
        return _boolean(reader)
    if char in _ALPHA or char == "*":
        return _token(reader)
    raise reader.error("expected an item")


def _number(reader: _Reader) -> int | Decimal:
    sign = 1
    if reader.peek() == "-":
        reader.take()
        sign = -1
    if reader.peek() not in _DIGITS:
        raise reader.error("expected a digit")
    digits = _number_text(reader)
    if "." not in digits:
        return sign * int(digits)
    if digits.endswith(".") or len(digits.partition(".")[2]) > 3:
        raise reader.error("a decimal has one to three fractional digits")
    return sign * Decimal(digits)


def _number_text(reader: _Reader) -> str:
    start = reader.pos
    is_decimal = False
    while True:
        char = reader.peek()
        if char == "." and not is_decimal:
            if reader.pos - start > 12:
                raise reader.error("a decimal has at most 12 integer digits")
            is_decimal = True
        elif char not in _DIGITS:
            return _since(reader, start)
        reader.take()
        if reader.pos - start > (16 if is_decimal else 15):
            raise reader.error("number is too long")


def _since(reader: _Reader, start: int) -> str:
    return reader.text[start : reader.pos]


def _string(reader: _Reader) -> str:
    reader.expect('"')
    chars: list[str] = []
    while not reader.at_end():
        char = reader.take()
        if char == "\\":
            escaped = reader.take()
            if escaped not in ('"', "\\"):
                raise reader.error('only \\" and \\\\ are escapes in a string')
            chars.append(escaped)
        elif char == '"':
            return "".join(chars)
        elif not " " <= char <= "~":
            raise reader.error("control character in a string")
        else:
            chars.append(char)
    raise reader.error("string is not closed")


def _token(reader: _Reader) -> Token:
    start = reader.pos
    reader.take()
    reader.skip(_TOKEN_CHARS)
    return Token(_since(reader, start))


def _byte_sequence(reader: _Reader) -> bytes:
    reader.expect(":")
    end = reader.text.find(":", reader.pos)
    if end < 0:
        raise reader.error("byte sequence is not closed")
    content = reader.text[reader.pos : end]
    if not set(content) <= _BASE64:
        raise reader.error("byte sequence is not base64")
    # RFC 8941 §4.2.7: parsers should not fail on missing "=" padding.
    padded = content + "=" * (-len(content) % 4)
    try:
        data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as e:
        raise reader.error("byte sequence is not base64") from e
    reader.pos = end + 1
    return data


def _boolean(reader: _Reader) -> bool:
    reader.expect("?")
    char = reader.take()
    if char not in ("0", "1"):
        raise reader.error("a boolean is ?0 or ?1")
    return char == "1"


# --- serialization (RFC 8941 §4.1) -----------------------------------------------------------


def serialize_inner_list(inner: InnerList) -> str:
    """The strict serialization of an inner list with its parameters, e.g. ``("a" "b");x=1``.

    Raises:
        InputError: an item or parameter cannot be serialized (out of range, bad character).
    """
    items = " ".join(serialize_item(item) for item in inner.items)
    return f"({items}){serialize_params(inner.params)}"


def serialize_item(item: Item) -> str:
    return serialize_bare_item(item.value) + serialize_params(item.params)


def serialize_params(params: Params) -> str:
    out: list[str] = []
    for key, value in params:
        if not key or key[0] not in _KEY_FIRST or not set(key) <= _KEY_CHARS:
            raise InputError(f"{key!r} is not a structured field key")
        out.append(f";{key}" if value is True else f";{key}={serialize_bare_item(value)}")
    return "".join(out)


def serialize_bare_item(value: BareItem) -> str:
    """The strict serialization of one bare item (String, Integer, Boolean, ...)."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > _MAX_INTEGER:
            raise InputError(f"integer {value} is out of the structured field range")
        return str(value)
    if isinstance(value, Decimal):
        return _serialize_decimal(value)
    if isinstance(value, str):
        return _serialize_string(value)
    if isinstance(value, bytes):
        return f":{base64.b64encode(value).decode('ascii')}:"
    return _serialize_token(value)


def _serialize_decimal(value: Decimal) -> str:
    rounded = value.quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    if abs(rounded) > _MAX_DECIMAL_INTEGER_PART:
        raise InputError(f"decimal {value} is out of the structured field range")
    whole, _, fraction = f"{rounded:f}".partition(".")
    return f"{whole}.{fraction.rstrip('0') or '0'}"


def _serialize_string(value: str) -> str:
    if not all(" " <= char <= "~" for char in value):
        raise InputError(f"{value!r} holds a character a structured field string cannot")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _serialize_token(token: Token) -> str:
    text = token.value
    if not text or not (text[0] in _ALPHA or text[0] == "*") or not set(text) <= _TOKEN_CHARS:
        raise InputError(f"{text!r} is not a structured field token")
    return text
