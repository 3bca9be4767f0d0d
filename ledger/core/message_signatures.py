"""HTTP Message Signatures (RFC 9421) on the ledger service's read requests: the bloc profile.

A client authenticates a request by signing the parts that say what it asks for; the service
checks that signature with the key its ``keyid`` names. This module builds and checks the
``Signature-Input`` and ``Signature`` fields and nothing else: it is pure. The caller passes
the method, authority, path, query, headers, body and the current time, and gets header
values or a verified key id back. Keys and signatures go through :mod:`ledger.core.signing`.

The profile, which :func:`sign_request` produces and :func:`verify_request` demands:

- One signature labelled ``bloc`` in both fields (RFC 9421 §4.1, §4.2). Other labels may sit
  beside it and are not checked, but both fields must carry the same labels.
- Covered components, in this order: ``"@method" "@authority" "@path" "@query"`` (§2.2) and,
  when the request has a body (a non-empty one), ``"content-digest"``: the RFC 9530 field
  ``sha-256=:<base64>:``, which the verifier recomputes from the body it received. A verifier
  takes the required components in any order and also accepts covered HTTP fields beyond
  them; it refuses component parameters (``;sf``, ``;key``, ``;req``, ...) and any other
  derived component.
- Signature parameters (§2.3): ``created`` (integer seconds), ``keyid`` (a bloc key id: the
  hex SHA-256 of the raw Ed25519 public key) and ``alg="ed25519"`` (§3.3.6) are required;
  ``nonce`` is optional. A verifier also understands ``expires`` and ``tag`` and refuses any
  other parameter. ``created`` must lie in ``[now - window, now + MAX_CLOCK_SKEW]``.
- Component values (§2.2.1, §2.2.3, §2.2.6, §2.2.7): ``@method`` as given (methods are
  case-sensitive); ``@authority`` lowercased, without the scheme's default port; ``@path``
  with an empty path as ``/``; ``@query`` as ``?`` plus the raw query string, ``?`` alone when
  there is none. Nothing is percent-decoded. Covered HTTP fields are trimmed of surrounding
  whitespace; the caller combines repeated fields with ``", "`` (§2.1).
- The last line of the signature base, ``"@signature-params"``, is the strict RFC 8941
  serialization of the received ``bloc`` member (§3.2 step 7): components and parameters in
  exactly the signer's order, optional whitespace normalized.

Replay: ``created`` bounds the life of a signed request to the window. A verifier that needs
single use has to remember nonces itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from ledger.core._structured_fields import (
    BareItem,
    InnerList,
    Item,
    Member,
    Params,
    parse_dictionary,
    serialize_bare_item,
    serialize_inner_list,
    serialize_item,
)
from ledger.core.signing import KeyId, PublicKey, Signer, b64encode
from ledger.errors import InputError, VerificationError

LABEL = "bloc"
ALG = "ed25519"
COVERED_COMPONENTS: tuple[str, ...] = ("@method", "@authority", "@path", "@query")
CONTENT_DIGEST = "content-digest"
DEFAULT_WINDOW = 300
"""Seconds a signed request stays acceptable after its ``created`` time."""
MAX_CLOCK_SKEW = 60
"""Seconds a ``created`` time may lie ahead of the verifier's clock."""

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_PARAMETERS = frozenset({"created", "expires", "nonce", "alg", "keyid", "tag"})
_KEYID = re.compile(r"[0-9a-f]{64}")
_MAX_TIME = 999_999_999_999_999


class SignatureRejected(VerificationError):
    """A signed request failed verification; the message is the one-line reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Request:
    """What components are derived from; ``fields`` are keyed by lowercased name."""

    method: str
    authority: str
    path: str
    query: str
    scheme: str
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class _SignatureParams:
    created: int
    keyid: str
    expires: int | None


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value of ``body``: ``sha-256=:<base64>:``."""
    return f"sha-256=:{b64encode(hashlib.sha256(body).digest())}:"


def sign_request(
    *,
    method: str,
    authority: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signer: Signer,
    created: int,
    nonce: str | None = None,
    body: bytes | None = None,
    scheme: str = "https",
) -> dict[str, str]:
    """The header fields that sign a request under the bloc profile.

    Args:
        method, authority, path, query: as sent; ``authority`` is ``host[:port]`` and
            ``query`` is the query string without its ``?`` (empty when there is none).
        headers: the fields the request already carries (names case-insensitive).
        body: the request content; a non-empty body is covered through ``Content-Digest``.
        scheme: ``https`` or ``http``, which decides the default port dropped from
            ``@authority``.

    Returns:
        ``Signature-Input`` and ``Signature``, preceded by ``Content-Digest`` when the
        request has a body: fields to add to the request as they are.

    Raises:
        InputError: the request is already signed, carries another ``Content-Digest``,
            or a component, ``created`` or ``nonce`` cannot be serialized.
    """
    fields = _fields(headers)
    if "signature-input" in fields or "signature" in fields:
        raise InputError("the request already carries Signature-Input or Signature")
    added: dict[str, str] = {}
    covered = COVERED_COMPONENTS
    if body:
        added["Content-Digest"] = fields[CONTENT_DIGEST] = _digest_to_send(fields, body)
        covered += (CONTENT_DIGEST,)
    request = _request(method, authority, path, query, fields=fields, scheme=scheme)
    member = InnerList(tuple(Item(name) for name in covered), _params(signer, created, nonce))
    base = _signature_base(member, request)
    added["Signature-Input"] = f"{LABEL}={serialize_inner_list(member)}"
    added["Signature"] = f"{LABEL}={serialize_bare_item(signer.sign(base))}"
    return added


def verify_request(
    *,
    method: str,
    authority: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_for: Callable[[KeyId], PublicKey | None],
    now: int,
    window: int = DEFAULT_WINDOW,
    scheme: str = "https",
) -> KeyId:
    """Verify the ``bloc`` signature of a received request; return the signer's key id.

    The checks run in order: both fields present and well-formed with the same labels; a
    ``bloc`` member; the required components covered (and ``content-digest`` when there is
    a body); parameters known, ``alg`` ed25519, ``created`` within the window; ``keyid``
    resolved by ``key_for``; ``Content-Digest`` equal to the body's; the signature.

    Args:
        method, authority, path, query, scheme: as for :func:`sign_request`, as received.
        headers: the received fields; names are looked up case-insensitively.
        body: the received content; ``None`` or empty when there is none.
        key_for: the public key trusted for a key id, or ``None`` when there is none.
        now: the verifier's clock, in UNIX seconds.
        window: how many seconds after ``created`` a request is still accepted.

    Raises:
        SignatureRejected: naming the first check that failed.
        InputError: ``window`` or ``scheme`` is invalid (the caller's mistake).
    """
    if window < 0:
        raise InputError(f"window {window} is negative")
    _default_port(scheme)
    with _rejecting():
        fields = _fields(headers)
        request = _request(method, authority, path, query, fields=fields, scheme=scheme)
        member, signature = _bloc_signature(fields)
        covered = _covered(member)
        _check_coverage(covered, has_body=bool(body))
        params = _profile_params(member.params)
        _check_time(params, now=now, window=window)
        key = _trusted_key(params.keyid, key_for)
        if CONTENT_DIGEST in covered:
            _check_content_digest(fields, body or b"")
        if not key.verify(signature, _signature_base(member, request)):
            raise SignatureRejected(f"the signature does not verify with keyid {key.keyid}")
        return key.keyid


def signature_base(
    *,
    label: str,
    method: str,
    authority: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    scheme: str = "https",
) -> bytes:
    """The RFC 9421 §2.5 signature base of the signature ``label`` in ``headers``.

    Builds the base from the ``Signature-Input`` member as sent, for any covered components
    this module can derive (``@method``, ``@authority``, ``@path``, ``@query`` and HTTP
    fields); no profile checks. Useful for known-answer tests and for re-signing.

    Raises:
        InputError: no such member, a malformed field, or a component that cannot be derived.
    """
    fields = _fields(headers)
    member = _signature_input(_dictionary_field(fields, "signature-input"), label)
    request = _request(method, authority, path, query, fields=fields, scheme=scheme)
    return _signature_base(member, request)


# --- the request and its components ----------------------------------------------------------


def _fields(headers: Mapping[str, str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in fields:
            raise InputError(f"field {name!r} is given twice (field names are case-insensitive)")
        fields[key] = value
    return fields


def _default_port(scheme: str) -> str:
    port = _DEFAULT_PORTS.get(scheme)
    if port is None:
        raise InputError(f"scheme {scheme!r} is neither https nor http")
    return port


def _request(
    method: str, authority: str, path: str, query: str, *, fields: Mapping[str, str], scheme: str
) -> _Request:
    _default_port(scheme)
    return _Request(
        method=method, authority=authority, path=path, query=query, scheme=scheme, fields=fields
    )


def _signature_base(member: InnerList, request: _Request) -> bytes:
    lines = [
        f"{serialize_bare_item(name)}: {_component_value(name, request)}"
        for name in _covered(member)
    ]
    lines.append(f'"@signature-params": {serialize_inner_list(member)}')
    return "\n".join(lines).encode("ascii")


def _covered(member: InnerList) -> tuple[str, ...]:
    """The covered component names, each a plain String without parameters, none twice."""
    names: list[str] = []
    for item in member.items:
        if not isinstance(item.value, str):
            raise InputError(f"covered component {serialize_item(item)} is not a string")
        if item.params:
            raise InputError(f"component parameters are not supported: {serialize_item(item)}")
        if item.value in names:
            raise InputError(f"component {item.value!r} is covered twice")
        names.append(item.value)
    return tuple(names)


def _component_value(name: str, request: _Request) -> str:
    if name.startswith("@"):
        return _derived_value(name, request)
    return _field_value(name, request)


def _derived_value(name: str, request: _Request) -> str:
    """A derived component (§2.2): printable ASCII, no newline, no surrounding whitespace."""
    if name == "@method":
        value = request.method
    elif name == "@authority":
        value = _authority(request.authority, request.scheme)
    elif name == "@path":
        value = _path(request.path)
    elif name == "@query":
        value = f"?{request.query}"
    else:
        raise InputError(f"derived component {name!r} is not supported")
    if not value or value != value.strip(" ") or not all(" " <= char <= "~" for char in value):
        raise InputError(f"{name} {value!r} is not printable ASCII without surrounding spaces")
    return value


def _authority(authority: str, scheme: str) -> str:
    """Host lowercased, default (or empty) port dropped (RFC 9110 §4.2.3)."""
    lowered = authority.lower()
    host, colon, port = lowered.rpartition(":")
    if colon and port in ("", _default_port(scheme)):
        return host
    return lowered


def _path(path: str) -> str:
    if not path:
        return "/"
    if not path.startswith("/"):
        raise InputError(f"@path {path!r} is not an absolute path")
    return path


def _field_value(name: str, request: _Request) -> str:
    """An HTTP field (§2.1): lowercase name, value trimmed, no newline or non-ASCII byte."""
    if name != name.lower():
        raise InputError(f"covered field {name!r} is not lowercase")
    value = request.fields.get(name)
    if value is None:
        raise InputError(f"covered field {name!r} is not in the request")
    value = value.strip(" \t")
    if not all(char == "\t" or " " <= char <= "~" for char in value):
        raise InputError(f"field {name!r} holds a character a signature base cannot")
    return value


# --- signing ---------------------------------------------------------------------------------


def _digest_to_send(fields: Mapping[str, str], body: bytes) -> str:
    digest = content_digest(body)
    sent = fields.get(CONTENT_DIGEST)
    if sent is not None and sent.strip(" \t") != digest:
        raise InputError(f"the headers carry Content-Digest {sent!r}, not the body's {digest}")
    return digest


def _params(signer: Signer, created: int, nonce: str | None) -> Params:
    if isinstance(created, bool) or not 0 <= created <= _MAX_TIME:
        raise InputError(f"created {created!r} is not a UNIX time in seconds")
    params: Params = (("created", created), ("keyid", signer.keyid), ("alg", ALG))
    if nonce is not None:
        if not nonce:
            raise InputError("a nonce, when given, is not empty")
        params += (("nonce", nonce),)
    return params


# --- verification ----------------------------------------------------------------------------


@contextmanager
def _rejecting() -> Iterator[None]:
    """Malformed input met while verifying is a rejected signature, with the same reason."""
    try:
        yield
    except InputError as e:
        raise SignatureRejected(e.diagnostics()) from e


def _dictionary_field(fields: Mapping[str, str], name: str) -> dict[str, Member]:
    text = fields.get(name)
    if text is None:
        raise InputError(f"the request has no {name.title()} field")
    try:
        return parse_dictionary(text)
    except InputError as e:
        raise InputError(f"{name.title()} is not a structured dictionary: {e}") from e


def _signature_input(inputs: Mapping[str, Member], label: str) -> InnerList:
    member = inputs.get(label)
    if member is None:
        raise InputError(f"Signature-Input has no {label!r} signature (labels: {list(inputs)})")
    if not isinstance(member, InnerList):
        raise InputError(f"Signature-Input {label!r} is not an inner list of components")
    return member


def _bloc_signature(fields: Mapping[str, str]) -> tuple[InnerList, bytes]:
    """The ``bloc`` member of Signature-Input and the signature bytes under the same label."""
    inputs = _dictionary_field(fields, "signature-input")
    signatures = _dictionary_field(fields, "signature")
    if inputs.keys() != signatures.keys():
        raise InputError(
            f"Signature-Input labels {list(inputs)} are not Signature labels {list(signatures)}"
        )
    member = _signature_input(inputs, LABEL)
    value = signatures[LABEL]
    if not isinstance(value, Item) or not isinstance(value.value, bytes) or value.params:
        raise InputError(f"Signature {LABEL!r} is not a byte sequence")
    return member, value.value


def _check_coverage(covered: tuple[str, ...], *, has_body: bool) -> None:
    missing = [name for name in COVERED_COMPONENTS if name not in covered]
    if missing:
        raise SignatureRejected(f"the signature does not cover {' '.join(missing)}")
    if has_body and CONTENT_DIGEST not in covered:
        raise SignatureRejected("the request has a body but the signature does not cover it")


def _profile_params(params: Params) -> _SignatureParams:
    values = dict(params)
    unknown = [name for name in values if name not in _PARAMETERS]
    if unknown:
        raise SignatureRejected(f"unknown signature parameter {unknown[0]!r}")
    alg = _string_param(values, "alg")
    if alg != ALG:
        raise SignatureRejected("alg is missing" if alg is None else f"alg {alg!r} is not {ALG}")
    created = _integer_param(values, "created")
    if created is None:
        raise SignatureRejected("created is missing")
    keyid = _string_param(values, "keyid")
    if keyid is None:
        raise SignatureRejected("keyid is missing")
    _string_param(values, "nonce")
    _string_param(values, "tag")
    return _SignatureParams(created=created, keyid=keyid, expires=_integer_param(values, "expires"))


def _string_param(values: Mapping[str, BareItem], name: str) -> str | None:
    value = values.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"signature parameter {name} is not a string")


def _integer_param(values: Mapping[str, BareItem], name: str) -> int | None:
    value = values.get(name)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise InputError(f"signature parameter {name} is not an integer")


def _check_time(params: _SignatureParams, *, now: int, window: int) -> None:
    if params.created < now - window:
        raise SignatureRejected(
            f"created {params.created} is older than the {window} s window (now {now})"
        )
    if params.created > now + MAX_CLOCK_SKEW:
        raise SignatureRejected(
            f"created {params.created} is more than {MAX_CLOCK_SKEW} s ahead (now {now})"
        )
    if params.expires is not None and params.expires <= now:
        raise SignatureRejected(f"the signature expired at {params.expires} (now {now})")


def _trusted_key(keyid: str, key_for: Callable[[KeyId], PublicKey | None]) -> PublicKey:
    if not _KEYID.fullmatch(keyid):
        raise SignatureRejected(f"keyid {keyid!r} is not a bloc key id (hex SHA-256)")
    key = key_for(KeyId(keyid))
    if key is None:
        raise SignatureRejected(f"unknown keyid {keyid}")
    if key.keyid != keyid:
        raise SignatureRejected(f"keyid {keyid} resolved to the key of {key.keyid}")
    return key


def _check_content_digest(fields: Mapping[str, str], body: bytes) -> None:
    sent = _dictionary_field(fields, CONTENT_DIGEST).get("sha-256")
    if not isinstance(sent, Item) or not isinstance(sent.value, bytes):
        raise SignatureRejected("Content-Digest has no sha-256 byte sequence")
    if not hmac.compare_digest(sent.value, hashlib.sha256(body).digest()):
        raise SignatureRejected("Content-Digest sha-256 does not match the body")
