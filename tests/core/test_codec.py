"""ledger.core.codec: strict JSON, canonical JSON, masses in grams, timestamps and days.

Every negative case is named after the rule it breaks; messages are asserted exactly where
the codec words them, because the command line shows them to users verbatim.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.codec import (
    MAX_CANONICAL_ENVELOPE_BYTES,
    MAX_DEPTH,
    MAX_ENVELOPE_BYTES,
    MAX_PAYLOAD_BYTES,
    _check_tree,
    canonical_json,
    format_timestamp,
    grams_to_kg_text,
    mass_to_grams,
    parse_day,
    parse_json,
    parse_timestamp,
)
from ledger.errors import InputError

BIG = 1 << 20


def parse(data: bytes, *, max_bytes: int = BIG) -> Any:
    return parse_json(data, max_bytes=max_bytes)


def nested_arrays(depth: int, inner: bytes = b"") -> bytes:
    """``depth`` arrays around ``inner``: the innermost array is at depth ``depth``."""
    return b"[" * depth + inner + b"]" * depth


def nested_objects(depth: int) -> bytes:
    """``depth`` objects, the innermost one empty: it is at depth ``depth``."""
    return b'{"k":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


# --- parse_json: accepted input -------------------------------------------------------------


def test_parse_json_plain_document() -> None:
    assert parse(b'{"a": [1, "x", true, null, false], "b": {}}') == {
        "a": [1, "x", True, None, False],
        "b": {},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"5200.5", Decimal("5200.5")),
        (b"1e3", Decimal("1E+3")),
        (b"1E-2", Decimal("0.01")),
        (b"-0.0", Decimal("-0.0")),
        (b"1.2300", Decimal("1.2300")),
    ],
)
def test_numbers_with_fraction_or_exponent_are_decimal(text: bytes, expected: Decimal) -> None:
    value = parse(text)
    assert type(value) is Decimal
    assert value == expected
    assert str(value) == str(expected)  # the exponent and trailing zeros are kept


def test_integers_stay_int() -> None:
    value = parse(b"[0, -7, 123456789012345678901234567890]")
    assert value == [0, -7, 123456789012345678901234567890]
    assert all(type(v) is int for v in value)


def test_escaped_surrogate_pair_is_one_character() -> None:
    assert parse(b'"\\ud83d\\ude00"') == "\U0001f600"


def test_non_ascii_utf8_is_accepted() -> None:
    assert parse('{"name": "Shin-Etsu 信越"}'.encode()) == {"name": "Shin-Etsu 信越"}


def test_size_exactly_max_bytes_is_accepted() -> None:
    data = b'"' + b"x" * 98 + b'"'
    assert len(data) == 100
    assert parse(data, max_bytes=100) == "x" * 98


def test_depth_exactly_max_is_accepted_arrays() -> None:
    assert MAX_DEPTH == 32
    value = parse(nested_arrays(32))
    for _ in range(31):
        value = value[0]
    assert value == []


def test_depth_exactly_max_is_accepted_objects() -> None:
    assert parse(nested_objects(32)) is not None


def test_scalar_at_depth_32_is_accepted() -> None:
    # Scalars count as a level: 31 arrays around a number put the number at depth 32.
    assert parse(nested_arrays(31, b"0")) is not None


# --- parse_json: named bad input --------------------------------------------------------------


def reject(data: bytes, *, max_bytes: int = BIG, what: str = "document") -> str:
    with pytest.raises(InputError) as info:
        parse_json(data, max_bytes=max_bytes, what=what)
    return str(info.value)


def test_duplicate_key_top_level() -> None:
    assert reject(b'{"a": 1, "a": 2}') == "duplicate key 'a' in JSON object"


def test_duplicate_key_nested() -> None:
    assert reject(b'{"x": [{"b": {"a": 1, "a": 1}}]}') == "duplicate key 'a' in JSON object"


def test_duplicate_key_after_escape_normalisation() -> None:
    # "\u0061" is "a": the same key spelt differently is still the same key.
    assert reject(b'{"a": 1, "\\u0061": 2}') == "duplicate key 'a' in JSON object"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_constants_rejected(constant: str) -> None:
    assert reject(f'{{"mass_kg": {constant}}}'.encode()) == f"{constant} is not a JSON number"


def test_non_utf8_reports_byte_position() -> None:
    assert reject(b'[1, "\xff"]', what="payload") == "payload is not valid UTF-8 (byte 5)"


def test_overlong_utf8_encoding_rejected() -> None:
    # 0xC0 0xAF is an overlong "/": invalid UTF-8 at its first byte.
    assert reject(b'"\xc0\xaf"') == "document is not valid UTF-8 (byte 1)"


def test_byte_order_mark_rejected() -> None:
    assert reject(b"\xef\xbb\xbf{}") == "document starts with a UTF-8 byte-order mark"


def test_depth_33_arrays_rejected() -> None:
    assert reject(nested_arrays(33)) == "JSON nested deeper than 32 levels"


def test_depth_33_objects_rejected() -> None:
    assert reject(nested_objects(33)) == "JSON nested deeper than 32 levels"


def test_scalar_at_depth_33_rejected() -> None:
    assert reject(nested_arrays(32, b"0")) == "JSON nested deeper than 32 levels"


def test_very_deep_nesting_rejected_without_recursion_error() -> None:
    assert reject(nested_arrays(100_000)) == "JSON nested deeper than 32 levels"


def test_oversize_by_one_byte_rejected() -> None:
    data = b'"' + b"x" * 99 + b'"'
    assert len(data) == 101
    assert (
        reject(data, max_bytes=100, what="payload")
        == "payload is 101 bytes, more than the 100 allowed"
    )


def test_oversize_message_groups_thousands() -> None:
    assert (
        reject(b" " * 40_961, max_bytes=40_960)
        == "document is 40,961 bytes, more than the 40,960 allowed"
    )


def test_the_limits_fit_an_entry_bundle() -> None:
    """ADR 0033: a payload of 40 KiB; a raw envelope of 128 KiB (whitespace included); a
    canonical envelope of at most 65,535 bytes, the uint16 frame of a tlog-tiles entry bundle.
    The largest payload, in base64, with 16 Ed25519 signatures (88 base64 characters, 64-hex
    key ids) has a canonical envelope well within the frame."""
    assert MAX_PAYLOAD_BYTES == 40 * 1024 == 40_960
    assert MAX_ENVELOPE_BYTES == 128 * 1024
    assert MAX_CANONICAL_ENVELOPE_BYTES == 0xFFFF
    largest_base64 = 4 * -(-MAX_PAYLOAD_BYTES // 3)
    assert largest_base64 == 54_616
    skeleton = b'{"payload":"","payloadType":"application/vnd.bloc.record+json","signatures":[]}'
    signature = b'{"keyid":"%s","sig":"%s"},' % (b"0" * 64, b"A" * 88)
    largest_signed = len(skeleton) + largest_base64 + 16 * len(signature) - 1
    assert largest_signed == 57_478 < MAX_CANONICAL_ENVELOPE_BYTES < MAX_ENVELOPE_BYTES


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            b'"\\ud800"', "document holds a lone surrogate \\ud800", id="lone-high-surrogate-value"
        ),
        pytest.param(
            b'"\\udc00"', "document holds a lone surrogate \\udc00", id="lone-low-surrogate-value"
        ),
        pytest.param(
            b'{"\\ud800": 1}',
            "document (a key) holds a lone surrogate \\ud800",
            id="lone-surrogate-key",
        ),
        pytest.param(
            b'[["\\ude00x"]]',
            "document[0][0] holds a lone surrogate \\ude00",
            id="lone-surrogate-nested",
        ),
        pytest.param(
            b'{"a": {"b": "\\ude00\\ud83d"}}',
            "document.a.b holds a lone surrogate \\ude00",
            id="reversed-pair",
        ),
    ],
)
def test_lone_surrogates_rejected(data: bytes, message: str) -> None:
    assert reject(data) == f"{message} (not valid Unicode)"


def test_huge_integer_rejected_as_input_error() -> None:
    assert reject(b"1" * 5000) == "number 111111111111... has 5000 characters, more than 40"


def test_huge_integer_message_gives_no_python_advice() -> None:
    # The user cannot call sys.set_int_max_str_digits(); the message should name the limit.
    message = reject(b"[" + b"9" * 5000 + b"]")
    assert "sys.set_int_max_str_digits" not in message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            b"", "document is not valid JSON: Expecting value at line 1 column 1", id="empty"
        ),
        pytest.param(
            b"[1] x",
            "document is not valid JSON: Extra data at line 1 column 5",
            id="trailing-garbage",
        ),
        pytest.param(
            b"{'a': 1}",
            "document is not valid JSON: Expecting property name enclosed in double quotes "
            "at line 1 column 2",
            id="single-quotes",
        ),
        pytest.param(
            b"[1,]",
            "document is not valid JSON: Expecting value at line 1 column 4",
            id="trailing-comma",
        ),
    ],
)
def test_malformed_json(data: bytes, message: str) -> None:
    assert reject(data) == message


# --- mass_to_grams ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "grams"),
    [
        (Decimal("5200.5"), 5_200_500),
        (Decimal("1.2300"), 1_230),
        (Decimal("1E+3"), 1_000_000),
        (Decimal("0.001"), 1),
        (25000, 25_000_000),
        (Decimal("1000000000000"), 10**15),
    ],
)
def test_mass_to_grams_exact(value: int | Decimal, grams: int) -> None:
    result = mass_to_grams(value, field="lots[0].mass_kg")
    assert result == grams
    assert type(result) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(0, "m must be more than 0 kg, got 0", id="zero"),
        pytest.param(Decimal("0.000"), "m must be more than 0 kg, got 0", id="zero-decimal"),
        pytest.param(Decimal("-0"), "m must be more than 0 kg, got 0", id="negative-zero"),
        pytest.param(Decimal("-1.5"), "m must be more than 0 kg, got -1.5", id="negative"),
        pytest.param(-3, "m must be more than 0 kg, got -3", id="negative-int"),
        pytest.param(
            Decimal("1.0001"), "m 1.0001 kg has more than three decimals", id="4-decimals"
        ),
        pytest.param(Decimal("0.0005"), "m 0.0005 kg has more than three decimals", id="half-gram"),
        pytest.param(
            Decimal("1000000000000.001"),
            "m 1000000000000.001 kg is more than the 1,000,000,000,000 kg allowed",
            id="over-maximum",
        ),
        pytest.param(True, "m must be a number of kilograms, got True", id="bool"),
        pytest.param("12", "m must be a number of kilograms, got '12'", id="str"),
        pytest.param(1.5, "m must be a number of kilograms, got 1.5", id="float"),
        pytest.param(None, "m must be a number of kilograms, got None", id="none"),
    ],
)
def test_mass_to_grams_rejects(value: object, message: str) -> None:
    with pytest.raises(InputError) as info:
        mass_to_grams(value, field="m")
    assert str(info.value) == message


def test_mass_beyond_decimal_precision_is_not_rounded_to_whole_grams() -> None:
    # 30 significant digits: multiplying by 1000 in the default 28-digit context rounds the
    # stray 1e-29 kg away and the mass would be accepted as exactly 1000 g.
    with pytest.raises(InputError, match="more than three decimals"):
        mass_to_grams(Decimal("1.00000000000000000000000000001"), field="m")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity")])
def test_mass_non_finite_decimal_is_input_error(value: Decimal) -> None:
    # parse_json never yields these, but mass_to_grams is public and documents InputError.
    with pytest.raises(InputError):
        mass_to_grams(value, field="m")


def test_mass_error_message_is_bounded_for_extreme_exponents() -> None:
    # A 12-byte JSON number must not produce a megabyte-long message (plain notation).
    with pytest.raises(InputError) as info:
        mass_to_grams(Decimal("1E-1000000"), field="m")
    assert len(str(info.value)) < 200


whole_grams = st.integers(min_value=1, max_value=10**15)


@st.composite
def kilograms(draw: st.DrawFn) -> Decimal:
    """A positive mass of at most 1e12 kg with at most three decimals, in varied spellings."""
    grams = draw(whole_grams)
    value = Decimal(grams).scaleb(-3)  # exponent -3: "5200.500"
    spelling = draw(st.sampled_from(["scaled", "normalized", "padded"]))
    if spelling == "normalized":
        value = value.normalize()  # may become "1E+3"
    elif spelling == "padded":
        value = Decimal(f"{value}000")  # more trailing zeros, same value
    return value


@settings(max_examples=300)
@given(kilograms())
def test_mass_round_trip_property(value: Decimal) -> None:
    grams = mass_to_grams(value, field="m")
    assert grams == value * 1000
    assert Decimal(grams) == value.scaleb(3)
    text = grams_to_kg_text(grams)
    assert Decimal(text) == value
    assert "E" not in text
    assert "e" not in text
    assert mass_to_grams(parse(text.encode()), field="m") == grams


@pytest.mark.parametrize(
    ("grams", "text"),
    [(5_200_500, "5200.5"), (1_000, "1"), (1, "0.001"), (10**15, "1000000000000"), (1_230, "1.23")],
)
def test_grams_to_kg_text(grams: int, text: str) -> None:
    assert grams_to_kg_text(grams) == text


# --- canonical_json ---------------------------------------------------------------------------


def test_canonical_json_sorted_keys_no_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [1, 2], "B": {"z": None, "y": True}}) == (
        b'{"B":{"y":true,"z":null},"a":[1,2],"b":1}'
    )


def test_canonical_json_sorts_by_code_point() -> None:
    assert canonical_json({"é": 1, "z": 2, "Z": 3, "aa": 4, "a": 5}) == (
        '{"Z":3,"a":5,"aa":4,"z":2,"é":1}'.encode()
    )


def test_canonical_json_keeps_non_ascii_as_utf8() -> None:
    assert canonical_json({"name": "信越 é"}) == '{"name":"信越 é"}'.encode()


def test_canonical_json_escapes_control_characters() -> None:
    assert canonical_json(['\x00\n"\\']) == b'["\\u0000\\n\\"\\\\"]'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("5200.50"), b"5200.5"),
        (Decimal("1E+3"), b"1000"),
        (Decimal("1E-7"), b"0.0000001"),
        (Decimal("-1.50"), b"-1.5"),
        (Decimal("-0"), b"0"),
        (Decimal("0E-5"), b"0"),
        (Decimal("2.000"), b"2"),
    ],
)
def test_canonical_json_decimal_plain_notation(value: Decimal, text: bytes) -> None:
    assert canonical_json(value) == text


def test_canonical_json_tuple_is_array() -> None:
    assert canonical_json(("x", 1)) == b'["x",1]'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param({"a": 1.5}, "binary floats are never serialised; use Decimal", id="float"),
        pytest.param(
            [float("nan")], "binary floats are never serialised; use Decimal", id="float-nan"
        ),
        pytest.param({"a": Decimal("NaN")}, "NaN is not a JSON number", id="decimal-nan"),
        pytest.param([Decimal("-Infinity")], "-Infinity is not a JSON number", id="decimal-inf"),
        pytest.param({1: 2}, "JSON object key 1 is not a string", id="int-key"),
    ],
)
def test_canonical_json_refuses(value: Any, message: str) -> None:
    with pytest.raises(TypeError) as info:
        canonical_json(value)
    assert str(info.value) == message


def json_values(depth: int = 4) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.builds(
            lambda n, e: Decimal(n).scaleb(e),
            st.integers(min_value=-(10**12), max_value=10**12),
            st.integers(min_value=-6, max_value=6),
        ),
        st.text(max_size=12),
    )
    if depth == 0:
        return leaves
    inner = json_values(depth - 1)
    return st.one_of(
        leaves,
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    )


@settings(max_examples=200)
@given(json_values())
def test_canonical_json_round_trips_through_parse_json(value: Any) -> None:
    encoded = canonical_json(value)
    assert parse(encoded) == value


@settings(max_examples=200)
@given(json_values())
def test_canonical_json_is_idempotent(value: Any) -> None:
    once = canonical_json(value)
    assert canonical_json(parse(once)) == once


# --- parse_timestamp --------------------------------------------------------------------------


def ts(text: str) -> datetime:
    return parse_timestamp(text, field="issued_at")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05T09:00:00Z", datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
        ("2026-01-05T09:00:00+00:00", datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
        ("2026-01-05T09:00:00-00:00", datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
        ("2026-01-05T11:00:00+02:00", datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
        ("2026-01-05T00:30:00+01:30", datetime(2026, 1, 4, 23, 0, tzinfo=UTC)),
        ("2026-01-04T23:00:00-10:00", datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
        ("2024-02-29T12:00:00Z", datetime(2024, 2, 29, 12, 0, tzinfo=UTC)),
    ],
)
def test_timestamps_normalised_to_utc(text: str, expected: datetime) -> None:
    moment = ts(text)
    assert moment == expected
    assert moment.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "microsecond"),
    [
        ("2026-01-05T09:00:00.5Z", 500_000),
        ("2026-01-05T09:00:00.123Z", 123_000),
        ("2026-01-05T09:00:00.123456Z", 123_456),
        # Beyond microseconds the fraction is truncated, never rounded.
        ("2026-01-05T09:00:00.1234569Z", 123_456),
        ("2026-01-05T09:00:00.999999999Z", 999_999),
    ],
)
def test_timestamp_fractions(text: str, microsecond: int) -> None:
    moment = ts(text)
    assert moment.microsecond == microsecond
    assert moment.second == 0


def test_lower_case_t_and_z_are_accepted() -> None:
    # Documented behaviour: the codec accepts RFC 3339's lower-case 't' and 'z' (the record
    # schemas' own pattern is stricter and allows upper case only).
    upper = ts("2026-01-05T09:00:00Z")
    assert ts("2026-01-05t09:00:00z") == upper
    assert ts("2026-01-05t09:00:00Z") == upper
    assert ts("2026-01-05T09:00:00z") == upper


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "2026-01-05T09:00:00",
            "issued_at '2026-01-05T09:00:00' is not an RFC 3339 timestamp with an offset",
            id="no-offset",
        ),
        pytest.param(
            "2026-01-05 09:00:00Z",
            "issued_at '2026-01-05 09:00:00Z' is not an RFC 3339 timestamp with an offset",
            id="space-separator",
        ),
        pytest.param(
            "2026-01-05T09:00Z",
            "issued_at '2026-01-05T09:00Z' is not an RFC 3339 timestamp with an offset",
            id="no-seconds",
        ),
        pytest.param(
            "2026-01-05T09:00:00+0200",
            "issued_at '2026-01-05T09:00:00+0200' is not an RFC 3339 timestamp with an offset",
            id="offset-without-colon",
        ),
        pytest.param(
            "2026-01-05T09:00:00.Z",
            "issued_at '2026-01-05T09:00:00.Z' is not an RFC 3339 timestamp with an offset",
            id="empty-fraction",
        ),
        pytest.param(
            "2026-12-31T23:59:60Z",
            "issued_at '2026-12-31T23:59:60Z' is not a real date and time",
            id="leap-second",
        ),
        pytest.param(
            "2026-02-30T00:00:00Z",
            "issued_at '2026-02-30T00:00:00Z' is not a real date and time",
            id="february-30",
        ),
        pytest.param(
            "2025-02-29T00:00:00Z",
            "issued_at '2025-02-29T00:00:00Z' is not a real date and time",
            id="february-29-not-leap-year",
        ),
        pytest.param(
            "2026-01-05T24:00:00Z",
            "issued_at '2026-01-05T24:00:00Z' is not a real date and time",
            id="hour-24",
        ),
        pytest.param(
            "2026-01-05T09:00:00+24:00",
            "issued_at '2026-01-05T09:00:00+24:00' is not a real date and time",
            id="offset-24h",
        ),
        pytest.param(
            "0000-01-01T00:00:00Z",
            "issued_at '0000-01-01T00:00:00Z' is not a real date and time",
            id="year-zero",
        ),
    ],
)
def test_timestamp_rejects(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        ts(text)
    assert str(info.value) == message


def test_timestamp_with_trailing_newline_rejected() -> None:
    # '$' in the pattern also matches before a final newline; the schemas guard against
    # that with '$(?!\n)', the codec must too.
    with pytest.raises(InputError) as info:
        ts("2026-01-05T09:00:00Z\n")
    assert str(info.value) == (
        "issued_at '2026-01-05T09:00:00Z\\n' is not an RFC 3339 timestamp with an offset"
    )


def test_timestamp_with_non_ascii_digits_is_a_form_error() -> None:
    # '\d' also matches full-width digits: the text is not of the RFC 3339 form at all.
    with pytest.raises(InputError) as info:
        ts("２０26-01-05T09:00:00Z")
    assert str(info.value) == (
        "issued_at '２０26-01-05T09:00:00Z' is not an RFC 3339 timestamp with an offset"
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("9999-12-31T23:59:59-01:00", id="after-year-9999-in-utc"),
        pytest.param("0001-01-01T00:00:00+01:00", id="before-year-1-in-utc"),
    ],
)
def test_timestamp_out_of_range_in_utc_is_input_error(text: str) -> None:
    # Valid RFC 3339, but not representable once moved to UTC: an InputError, not a crash.
    with pytest.raises(InputError, match="issued_at"):
        ts(text)


def test_format_timestamp() -> None:
    assert format_timestamp(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) == "2026-01-05T09:00:00Z"
    assert (
        format_timestamp(datetime(2026, 1, 5, 11, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))))
        == "2026-01-05T09:00:00.000005Z"
    )
    # A naive datetime on purpose: it is what format_timestamp must refuse.
    with pytest.raises(ValueError, match="naive datetimes are not timestamps"):
        format_timestamp(datetime(2026, 1, 5, 9, 0))  # noqa: DTZ001


@settings(max_examples=100)
@given(
    st.datetimes(
        # hypothesis takes naive bounds; timezones= makes every example aware (UTC)
        min_value=datetime(1970, 1, 1),  # noqa: DTZ001
        max_value=datetime(9998, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
)
def test_format_then_parse_timestamp_round_trips(moment: datetime) -> None:
    assert ts(format_timestamp(moment)) == moment


# --- parse_day --------------------------------------------------------------------------------


def test_parse_day() -> None:
    assert parse_day("2026-01-30", field="extracted_on") == date(2026, 1, 30)
    assert parse_day("2024-02-29", field="extracted_on") == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "2026-1-30", "d '2026-1-30' is not a date of the form YYYY-MM-DD", id="short-month"
        ),
        pytest.param("20260130", "d '20260130' is not a date of the form YYYY-MM-DD", id="basic"),
        pytest.param(
            "2026-01-30T00:00:00Z",
            "d '2026-01-30T00:00:00Z' is not a date of the form YYYY-MM-DD",
            id="timestamp",
        ),
        pytest.param("", "d '' is not a date of the form YYYY-MM-DD", id="empty"),
        pytest.param("2026-02-30", "d '2026-02-30' is not a real date", id="february-30"),
        pytest.param("2025-02-29", "d '2025-02-29' is not a real date", id="not-leap-year"),
        pytest.param("2026-13-01", "d '2026-13-01' is not a real date", id="month-13"),
        pytest.param("0000-01-01", "d '0000-01-01' is not a real date", id="year-zero"),
        pytest.param(
            "2026-01-30\n", "d '2026-01-30\\n' is not a date of the form YYYY-MM-DD", id="newline"
        ),
        pytest.param(
            "２026-01-30", "d '２026-01-30' is not a date of the form YYYY-MM-DD", id="fullwidth"
        ),
    ],
)
def test_parse_day_rejects(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_day(text, field="d")
    assert str(info.value) == message


# --- parse_json: the fast path skips the tree walk only where it cannot find anything ----------

_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(alphabet=st.sampled_from(["a", "é", "\\", '"', "\ud7ff", "\ue000", "\U0001f600"])),
)
_JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=40,
)


def _reference_verdict(text: str) -> str | None:
    """What the full walk says about ``text``: the rule it breaks, or ``None``."""
    try:
        _check_tree(json.loads(text), 1, "document")
    except InputError as e:
        return str(e)
    except RecursionError:
        return "JSON nested deeper than 32 levels"
    return None


@settings(max_examples=300, deadline=None)
@given(
    value=_JSON_VALUES,
    wrap=st.integers(0, 40),
    surrogate=st.sampled_from(["", "\\ud800", "\\uDBFF", "\\udc00", "\\\\ud800", "\\ud83d\\ude00"]),
)
def test_fast_path_agrees_with_the_full_walk(value: Any, wrap: int, surrogate: str) -> None:
    # Brackets and surrogate escapes, real or only look-alike (an escaped backslash before
    # "ud800" is plain text), at every depth: parse_json must decide as the full walk does.
    inner = json.dumps(value)
    text = "[" * wrap + f'["{surrogate}", {inner}]' + "]" * wrap
    expected = _reference_verdict(text)
    if expected is None:
        parse(text.encode("utf-8"))
    else:
        assert reject(text.encode("utf-8")) == expected


def test_surrogate_hidden_behind_an_escaped_backslash_is_plain_text() -> None:
    assert parse(b'["\\\\ud800"]') == ["\\ud800"]


def test_lone_surrogate_deep_inside_a_shallow_document_is_found() -> None:
    assert reject(b'{"a":[{"b":"ok"},{"c":"\\udfff"}]}') == (
        "document.a[1].c holds a lone surrogate \\udfff (not valid Unicode)"
    )


def test_an_unterminated_string_is_reported_without_a_doubled_word() -> None:
    with pytest.raises(InputError) as info:
        parse_json(b'{"kind": "extr', max_bytes=100, what="record")
    assert str(info.value) == (
        "record is not valid JSON: Unterminated string starting at line 1 column 10"
    )
