"""ledger.core.message_signatures: the bloc profile of HTTP Message Signatures (RFC 9421).

Known answers come from the RFCs: the ed25519 examples of RFC 9421 (B.2.6 and the B.4
transformation example, key from B.1.4) pin the signature base and the signature byte for
byte; RFC 9530 Appendix D pins the content digest. Every refusal has a test named after the
attack it stops; most build the attack with ``resign``, which tampers with the Signature-Input
member and signs it again with a good key, so that only the check under test can fail.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger.core import message_signatures as ms
from ledger.core.message_signatures import (
    SignatureRejected,
    content_digest,
    sign_request,
    signature_base,
    verify_request,
)
from ledger.core.signing import KeyId, PublicKey, Signer
from ledger.errors import InputError, VerificationError

from helpers import key_for

ALICE = key_for("message-signatures-alice")
MALLORY = key_for("message-signatures-mallory")
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
KEYS = {ALICE.keyid: ALICE.public_key}


@dataclass(frozen=True)
class Request:
    """A request as both ends see it (headers without the signature fields)."""

    method: str = "GET"
    authority: str = "ledger.example"
    path: str = "/v1/lots/acme%2F17/provenance"
    query: str = "as_of=2026-01-01&depth=2"
    headers: dict[str, str] = field(default_factory=lambda: {"Accept": "application/json"})
    body: bytes | None = None


READ = Request()
QUERY = Request(method="POST", path="/v1/query", query="", body=b'{"lot": "acme/17"}')


def signed(
    request: Request = READ, *, signer: Signer = ALICE, created: int = NOW, nonce: str | None = None
) -> dict[str, str]:
    """The request's headers with the signature fields sign_request adds."""
    added = sign_request(
        method=request.method,
        authority=request.authority,
        path=request.path,
        query=request.query,
        headers=request.headers,
        body=request.body,
        signer=signer,
        created=created,
        nonce=nonce,
    )
    return {**request.headers, **added}


def verify(
    request: Request, headers: dict[str, str], *, now: int = NOW, window: int = 300
) -> KeyId:
    return verify_request(
        method=request.method,
        authority=request.authority,
        path=request.path,
        query=request.query,
        headers=headers,
        body=request.body,
        key_for=KEYS.get,
        now=now,
        window=window,
    )


def base_of(request: Request, headers: dict[str, str], label: str = "bloc") -> bytes:
    return signature_base(
        label=label,
        method=request.method,
        authority=request.authority,
        path=request.path,
        query=request.query,
        headers=headers,
    )


def resign(
    request: Request, headers: dict[str, str], member: str, *, signer: Signer = ALICE
) -> dict[str, str]:
    """Tamper: replace the bloc Signature-Input member, then sign the new base with ``signer``."""
    tampered = {**headers, "Signature-Input": f"bloc={member}"}
    signature = signer.sign(base_of(request, tampered))
    return {**tampered, "Signature": f"bloc=:{base64.b64encode(signature).decode()}:"}


def params(*, keyid: str = ALICE.keyid, created: int = NOW, extra: str = "") -> str:
    return f';created={created};keyid="{keyid}";alg="ed25519"{extra}'


COMPONENTS = '("@method" "@authority" "@path" "@query")'


def refused(request: Request, headers: dict[str, str], reason: str, **kwargs: int) -> None:
    with pytest.raises(SignatureRejected) as caught:
        verify(request, headers, **kwargs)
    assert reason in str(caught.value)


# --- round trips ------------------------------------------------------------------------------


def test_a_signed_read_request_verifies_and_names_its_key() -> None:
    assert verify(READ, signed(READ)) == ALICE.keyid


def test_sign_request_adds_the_profile_fields_exactly() -> None:
    added = sign_request(
        method="GET",
        authority="ledger.example",
        path="/v1/lots",
        query="",
        headers={},
        signer=ALICE,
        created=NOW,
        nonce="n-1",
    )
    assert list(added) == ["Signature-Input", "Signature"]
    assert added["Signature-Input"] == (
        f'bloc=("@method" "@authority" "@path" "@query");created={NOW}'
        f';keyid="{ALICE.keyid}";alg="ed25519";nonce="n-1"'
    )
    expected_base = (
        '"@method": GET\n"@authority": ledger.example\n"@path": /v1/lots\n"@query": ?\n'
        f'"@signature-params": ("@method" "@authority" "@path" "@query");created={NOW}'
        f';keyid="{ALICE.keyid}";alg="ed25519";nonce="n-1"'
    ).encode()
    signature = ALICE.sign(expected_base)  # Ed25519 is deterministic
    assert added["Signature"] == f"bloc=:{base64.b64encode(signature).decode()}:"


def test_a_request_with_a_body_covers_its_content_digest() -> None:
    headers = signed(QUERY)
    assert headers["Content-Digest"] == content_digest(QUERY.body or b"")
    assert '"@query" "content-digest");' in headers["Signature-Input"]
    assert verify(QUERY, headers) == ALICE.keyid


def test_header_names_are_case_insensitive() -> None:
    headers = {name.lower(): value for name, value in signed(QUERY).items()}
    assert verify(QUERY, headers) == ALICE.keyid


def test_the_window_edges_are_inclusive() -> None:
    headers = signed(READ)
    assert verify(READ, headers, now=NOW + 300) == ALICE.keyid
    assert verify(READ, headers, now=NOW - ms.MAX_CLOCK_SKEW) == ALICE.keyid


# --- known answers ----------------------------------------------------------------------------

# RFC 9421 Appendix B.1.4, test-key-ed25519 (JWK "d" and "x", base64url).
RFC_ED25519_SEED = base64.urlsafe_b64decode("n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU=")
RFC_ED25519_PUBLIC = base64.urlsafe_b64decode("JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs=")

# RFC 9421 Appendix B.2, test-request: POST /foo?param=Value&Pet=dog, body {"hello": "world"}.
RFC_TEST_REQUEST = Request(
    method="POST",
    authority="example.com",
    path="/foo",
    query="param=Value&Pet=dog",
    headers={
        "Host": "example.com",
        "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
        "Content-Type": "application/json",
        "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYll"
        "u7BNNyealdVLvRwEmTHWXvJwew==:",
        "Content-Length": "18",
    },
    body=b'{"hello": "world"}',
)

RFC_VECTORS = {
    # B.2.6, Signing a Request Using ed25519.
    "B.2.6": (
        RFC_TEST_REQUEST,
        "sig-b26",
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"',
        '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
        '"@method": POST\n'
        '"@path": /foo\n'
        '"@authority": example.com\n'
        '"content-type": application/json\n'
        '"content-length": 18\n'
        '"@signature-params": ("date" "@method" "@path" "@authority" "content-type"'
        ' "content-length");created=1618884473;keyid="test-key-ed25519"',
        "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==",
    ),
    # B.4, HTTP Message Transformations: two Accept fields, combined with ", " (§2.1).
    "B.4": (
        Request(
            method="GET",
            authority="example.org",
            path="/demo",
            query="name1=Value1&Name2=value2",
            headers={
                "Host": "example.org",
                "Date": "Fri, 15 Jul 2022 14:24:55 GMT",
                "Accept": "application/json, */*",
            },
        ),
        "transform",
        'transform=("@method" "@path" "@authority" "accept");created=1618884473'
        ';keyid="test-key-ed25519"',
        '"@method": GET\n'
        '"@path": /demo\n'
        '"@authority": example.org\n'
        '"accept": application/json, */*\n'
        '"@signature-params": ("@method" "@path" "@authority" "accept");created=1618884473'
        ';keyid="test-key-ed25519"',
        "ZT1kooQsEHpZ0I1IjCqtQppOmIqlJPeo7DHR3SoMn0s5JZ1eRGS0A+vyYP9t/LXlh5QMFFQ6cpLt2m0pmj3NDA==",
    ),
}


@pytest.mark.parametrize("vector", RFC_VECTORS.values(), ids=RFC_VECTORS.keys())
def test_rfc_9421_ed25519_signature_base_and_signature(
    vector: tuple[Request, str, str, str, str],
) -> None:
    request, label, signature_input, expected_base, signature_b64 = vector
    headers = {**request.headers, "Signature-Input": signature_input}
    base = base_of(request, headers, label)
    assert base == expected_base.encode()
    signature = base64.b64decode(signature_b64)
    assert PublicKey(raw=RFC_ED25519_PUBLIC).verify(signature, base)
    rfc_signer = Signer.from_seed(RFC_ED25519_SEED)
    assert rfc_signer.public_key.raw == RFC_ED25519_PUBLIC
    assert rfc_signer.sign(base) == signature


def test_an_rfc_signature_outside_the_bloc_profile_is_refused() -> None:
    # B.2.6 is a valid RFC 9421 signature, but not under the bloc label nor our profile.
    request, _, signature_input, _, signature_b64 = RFC_VECTORS["B.2.6"]
    relabelled = {
        **request.headers,
        "Signature-Input": signature_input.replace("sig-b26=", "bloc="),
        "Signature": f"bloc=:{signature_b64}:",
    }
    refused(request, relabelled, "the signature does not cover @query")


def test_content_digest_rfc_9530_known_answer() -> None:
    # RFC 9530 Appendix D.
    assert content_digest(b'{"hello": "world"}') == (
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    )


@pytest.mark.parametrize(
    ("authority", "scheme", "expected"),
    [
        ("Ledger.Example", "https", "ledger.example"),
        ("ledger.example:443", "https", "ledger.example"),
        ("ledger.example:", "https", "ledger.example"),
        ("ledger.example:80", "https", "ledger.example:80"),
        ("ledger.example:80", "http", "ledger.example"),
        ("LEDGER.example:8443", "https", "ledger.example:8443"),
        ("[::1]:443", "https", "[::1]"),
        ("[::1]", "https", "[::1]"),
    ],
)
def test_authority_is_lowercased_without_the_default_port(
    authority: str, scheme: str, expected: str
) -> None:
    headers = {"Signature-Input": 'x=("@authority" "@path" "@query")'}
    base = signature_base(
        label="x",
        method="GET",
        authority=authority,
        path="",
        query="",
        headers=headers,
        scheme=scheme,
    )
    assert base.decode().splitlines()[:3] == [
        f'"@authority": {expected}',
        '"@path": /',
        '"@query": ?',
    ]


def test_the_signature_params_line_is_the_strict_serialization_of_the_member() -> None:
    # RFC 9421 §3.2 step 7: the member as parsed, re-serialized by RFC 8941 §4.1, in order.
    member = '(  "@method"   "@query" );e=-0;a=1.50;b=tok/x;c=?1;d=:YWJj:;f="q\\"\\\\"'
    base = signature_base(
        label="x",
        method="GET",
        authority="ledger.example",
        path="/",
        query="a=1",
        headers={"Signature-Input": f"x={member}"},
    )
    assert base.decode() == (
        '"@method": GET\n"@query": ?a=1\n'
        '"@signature-params": ("@method" "@query");e=0;a=1.5;b=tok/x;c;d=:YWJj:;f="q\\"\\\\"'
    )


# --- formatting the verifier must accept ------------------------------------------------------


def test_any_valid_structured_field_formatting_of_the_member_verifies() -> None:
    headers = signed(READ)
    member = headers["Signature-Input"].removeprefix("bloc=")
    spaced = member.replace("(", "(  ").replace('" "', '"   "').replace(")", " )")
    spaced = spaced.replace(";", "; ")
    signature = headers["Signature"]
    variants = {
        "spaced": {**headers, "Signature-Input": f"  bloc={spaced}  "},
        "beside another signature": {
            **headers,
            "Signature-Input": f'proxy=("@method");created=1;keyid="p",\tbloc={member}',
            "Signature": f"proxy=:AAAA:, {signature}",
        },
    }
    for name, variant in variants.items():
        assert verify(READ, variant) == ALICE.keyid, name


def test_the_signers_parameter_and_component_order_is_what_is_signed() -> None:
    member = f'("@query" "@path" "@authority" "@method");alg="ed25519";keyid="{ALICE.keyid}"'
    reordered = resign(READ, signed(READ), f"{member};created={NOW}")
    assert verify(READ, reordered) == ALICE.keyid
    # The same signature under the parameters in another order is another signature base.
    swapped = reordered["Signature-Input"].replace(
        f'alg="ed25519";keyid="{ALICE.keyid}"', f'keyid="{ALICE.keyid}";alg="ed25519"'
    )
    refused(READ, {**reordered, "Signature-Input": swapped}, "does not verify")


def test_extra_covered_fields_are_accepted() -> None:
    member = '("@method" "@authority" "@path" "@query" "accept")' + params()
    assert verify(READ, resign(READ, signed(READ), member)) == ALICE.keyid


# --- refusals, one per attack -----------------------------------------------------------------


@pytest.mark.parametrize("missing", ["Signature-Input", "Signature"])
def test_a_request_stripped_of_a_signature_field_is_refused(missing: str) -> None:
    headers = signed(READ)
    del headers[missing]
    refused(READ, headers, f"the request has no {missing} field")


def test_an_unsigned_request_is_refused() -> None:
    refused(READ, dict(READ.headers), "the request has no Signature-Input field")


def test_a_signature_under_another_label_is_refused() -> None:
    headers = signed(READ)
    relabelled = {
        **headers,
        "Signature-Input": headers["Signature-Input"].replace("bloc=", "sig1=", 1),
        "Signature": headers["Signature"].replace("bloc=", "sig1=", 1),
    }
    refused(READ, relabelled, "Signature-Input has no 'bloc' signature")


def test_labels_that_differ_between_the_two_fields_are_refused() -> None:
    headers = signed(READ)
    extra = {**headers, "Signature": headers["Signature"] + ", sig2=:AAAA:"}
    refused(READ, extra, "are not Signature labels")


@pytest.mark.parametrize(
    ("field_name", "value", "reason"),
    [
        ("Signature-Input", "bloc=", "Signature-Input is not a structured dictionary"),
        ("Signature-Input", 'bloc=("@method" "@path"', "inner list is not closed"),
        ("Signature-Input", 'bloc=("@method"),', "trailing comma"),
        ("Signature-Input", 'Bloc=("@method")', "expected a key"),
        ("Signature-Input", 'bloc=("@method");created=1.', "fractional digits"),
        ("Signature-Input", 'bloc=("@method");created=1;created=2', "parameter 'created' repeated"),
        ("Signature-Input", 'bloc=(), bloc=("@method")', "dictionary key 'bloc' repeated"),
        ("Signature-Input", 'bloc="@method"', "is not an inner list of components"),
        ("Signature-Input", 'bloc=("@m\u00e9thod")', "a structured field is ASCII"),
        ("Signature", "bloc=:AAAA", "byte sequence is not closed"),
        ("Signature", "bloc=:AA*A:", "byte sequence is not base64"),
        ("Signature", 'bloc="AAAA"', "Signature 'bloc' is not a byte sequence"),
        ("Signature", "bloc=:AAAA:;x", "Signature 'bloc' is not a byte sequence"),
    ],
)
def test_malformed_structured_fields_are_refused(field_name: str, value: str, reason: str) -> None:
    refused(READ, {**signed(READ), field_name: value}, reason)


@pytest.mark.parametrize("dropped", ms.COVERED_COMPONENTS)
def test_a_signature_that_leaves_a_required_component_uncovered_is_refused(dropped: str) -> None:
    kept = " ".join(f'"{name}"' for name in ms.COVERED_COMPONENTS if name != dropped)
    refused(
        READ,
        resign(READ, signed(READ), f"({kept}){params()}"),
        f"the signature does not cover {dropped}",
    )


def test_a_component_covered_twice_is_refused() -> None:
    member = '("@method" "@authority" "@path" "@query" "@path")' + params()
    headers = {**signed(READ), "Signature-Input": f"bloc={member}"}
    refused(READ, headers, "component '@path' is covered twice")


@pytest.mark.parametrize(
    ("component", "reason"),
    [
        ('"accept";sf', "component parameters are not supported"),
        ('"@target-uri"', "derived component '@target-uri' is not supported"),
        ('"@signature-params"', "derived component '@signature-params' is not supported"),
        ('"Accept"', "covered field 'Accept' is not lowercase"),
        ('"x-absent"', "covered field 'x-absent' is not in the request"),
        ("accept", "covered component accept is not a string"),
    ],
)
def test_a_component_outside_the_profile_is_refused(component: str, reason: str) -> None:
    member = f'("@method" "@authority" "@path" "@query" {component})' + params()
    headers = {**signed(READ), "Signature-Input": f"bloc={member}"}
    refused(READ, headers, reason)


def test_an_rsa_alg_is_refused() -> None:
    member = COMPONENTS + params().replace('"ed25519"', '"rsa-pss-sha512"')
    refused(READ, resign(READ, signed(READ), member), "alg 'rsa-pss-sha512' is not ed25519")


def test_a_signature_without_alg_is_refused() -> None:
    member = f'{COMPONENTS};created={NOW};keyid="{ALICE.keyid}"'
    refused(READ, resign(READ, signed(READ), member), "alg is missing")


def test_an_alg_given_as_a_token_is_refused() -> None:
    member = COMPONENTS + params().replace('"ed25519"', "ed25519")
    refused(READ, resign(READ, signed(READ), member), "signature parameter alg is not a string")


def test_an_unknown_signature_parameter_is_refused() -> None:
    member = COMPONENTS + params(extra=";context=?1")
    refused(READ, resign(READ, signed(READ), member), "unknown signature parameter 'context'")


def test_a_signature_without_created_is_refused() -> None:
    member = f'{COMPONENTS};keyid="{ALICE.keyid}";alg="ed25519"'
    refused(READ, resign(READ, signed(READ), member), "created is missing")


def test_a_created_time_that_is_not_an_integer_is_refused() -> None:
    member = f'{COMPONENTS};created="{NOW}";keyid="{ALICE.keyid}";alg="ed25519"'
    refused(READ, resign(READ, signed(READ), member), "created is not an integer")


def test_a_signature_without_keyid_is_refused() -> None:
    member = f'{COMPONENTS};created={NOW};alg="ed25519"'
    refused(READ, resign(READ, signed(READ), member), "keyid is missing")


def test_a_replayed_request_older_than_the_window_is_refused() -> None:
    refused(
        READ,
        signed(READ),
        f"created {NOW} is older than the 300 s window (now {NOW + 301})",
        now=NOW + 301,
    )


def test_a_request_dated_in_the_future_is_refused() -> None:
    refused(READ, signed(READ, created=NOW + 61), f"created {NOW + 61} is more than 60 s ahead")


def test_an_expired_signature_is_refused() -> None:
    member = COMPONENTS + params(extra=f";expires={NOW}")
    refused(READ, resign(READ, signed(READ), member), f"the signature expired at {NOW}")


def test_a_signature_by_an_unknown_key_is_refused() -> None:
    refused(READ, signed(READ, signer=MALLORY), f"unknown keyid {MALLORY.keyid}")


def test_a_keyid_that_is_not_a_bloc_key_id_is_refused() -> None:
    member = COMPONENTS + params(keyid="test-key-ed25519")
    refused(READ, resign(READ, signed(READ), member), "is not a bloc key id")


def test_a_signature_by_another_key_under_a_trusted_keyid_is_refused() -> None:
    forged = resign(READ, signed(READ), COMPONENTS + params(), signer=MALLORY)
    refused(READ, forged, f"the signature does not verify with keyid {ALICE.keyid}")


def test_a_truncated_signature_is_refused() -> None:
    headers = signed(READ)
    truncated = {**headers, "Signature": "bloc=:" + base64.b64encode(bytes(63)).decode() + ":"}
    refused(READ, truncated, "does not verify")


def test_a_request_signed_for_another_path_is_refused() -> None:
    headers = signed(READ)
    refused(dataclasses.replace(READ, path="/v1/lots/mallory%2F1/provenance"), headers, "verify")


def test_a_request_signed_for_another_host_is_refused() -> None:
    headers = signed(READ)
    refused(dataclasses.replace(READ, authority="ledger.example:8443"), headers, "verify")


def test_a_request_signed_for_another_method_is_refused() -> None:
    headers = signed(READ)
    refused(dataclasses.replace(READ, method="DELETE"), headers, "verify")


def test_a_request_with_an_edited_query_is_refused() -> None:
    headers = signed(READ)
    refused(dataclasses.replace(READ, query="as_of=2030-01-01&depth=2"), headers, "verify")


def test_a_tampered_body_is_refused() -> None:
    headers = signed(QUERY)
    tampered = dataclasses.replace(QUERY, body=b'{"lot": "acme/18"}')
    refused(tampered, headers, "Content-Digest sha-256 does not match the body")


def test_a_tampered_body_with_a_recomputed_digest_is_refused() -> None:
    tampered = dataclasses.replace(QUERY, body=b'{"lot": "acme/18"}')
    headers = {**signed(QUERY), "Content-Digest": content_digest(tampered.body or b"")}
    refused(tampered, headers, "does not verify")


def test_a_body_smuggled_into_a_signed_bodiless_request_is_refused() -> None:
    headers = signed(READ)
    smuggled = dataclasses.replace(READ, body=b"extra")
    refused(smuggled, headers, "the request has a body but the signature does not cover it")


def test_a_stripped_content_digest_is_refused() -> None:
    headers = signed(QUERY)
    del headers["Content-Digest"]
    refused(QUERY, headers, "the request has no Content-Digest field")


def test_a_content_digest_without_sha_256_is_refused() -> None:
    headers = {**signed(QUERY), "Content-Digest": "sha-512=:AAAA:"}
    refused(QUERY, headers, "Content-Digest has no sha-256 byte sequence")


def test_a_stripped_body_is_refused() -> None:
    headers = signed(QUERY)
    refused(dataclasses.replace(QUERY, body=None), headers, "does not match the body")


def test_a_field_given_twice_in_different_cases_is_refused() -> None:
    headers = {**signed(READ), "signature": "bloc=:AAAA:"}
    refused(READ, headers, "field 'signature' is given twice")


def test_a_component_value_with_a_newline_is_refused() -> None:
    headers = signed(READ)
    refused(dataclasses.replace(READ, query='a=1\n"@x": y'), headers, "is not printable ASCII")


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_of_the_covered_request_breaks_the_signature(
    data: st.DataObject,
) -> None:
    request = dataclasses.replace(QUERY, query="as_of=2026-01-01")
    headers = signed(request)
    part = data.draw(st.sampled_from(["method", "authority", "path", "query", "body"]))
    original: bytes = (
        request.body or b"" if part == "body" else getattr(request, part).encode("ascii")
    )
    index = data.draw(st.integers(0, len(original) - 1))
    byte = data.draw(st.integers(0, 255) if part == "body" else st.integers(0x21, 0x7E))
    changed = original[:index] + bytes([byte]) + original[index + 1 :]
    assume(changed != original)
    if part == "authority":  # the host is case-insensitive: only real changes count
        assume(changed.lower() != original.lower())
    value: bytes | str = changed if part == "body" else changed.decode("ascii")
    tampered = dataclasses.replace(request, **{part: value})
    with pytest.raises(SignatureRejected):
        verify(tampered, headers)


# --- errors for the caller ---------------------------------------------------------------------


def test_signature_rejected_is_a_verification_error() -> None:
    assert issubclass(SignatureRejected, VerificationError)
    assert not issubclass(SignatureRejected, InputError)


def test_signing_an_already_signed_request_is_an_input_error() -> None:
    with pytest.raises(InputError, match="already carries Signature-Input or Signature"):
        signed(dataclasses.replace(READ, headers=signed(READ)))


def test_signing_with_a_foreign_content_digest_is_an_input_error() -> None:
    request = dataclasses.replace(QUERY, headers={"content-digest": "sha-256=:AAAA:"})
    with pytest.raises(InputError, match="the headers carry Content-Digest"):
        signed(request)


@pytest.mark.parametrize(
    ("nonce", "created", "reason"),
    [
        ("caf\u00e9", NOW, "holds a character a structured field string cannot"),
        ("", NOW, "a nonce, when given, is not empty"),
        (None, -1, "created -1 is not a UNIX time"),
    ],
)
def test_unserializable_signature_parameters_are_input_errors(
    nonce: str | None, created: int, reason: str
) -> None:
    with pytest.raises(InputError, match=reason):
        signed(READ, nonce=nonce, created=created)


def test_a_relative_path_cannot_be_signed() -> None:
    with pytest.raises(InputError, match="is not an absolute path"):
        signed(dataclasses.replace(READ, path="v1/lots"))


def test_an_unknown_scheme_is_the_callers_mistake() -> None:
    with pytest.raises(InputError, match="scheme 'ftp' is neither https nor http"):
        verify_request(
            method="GET",
            authority="ledger.example",
            path="/",
            query="",
            headers=signed(READ),
            body=None,
            key_for=KEYS.get,
            now=NOW,
            scheme="ftp",
        )
