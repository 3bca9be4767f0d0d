"""The tlog-witness add-checkpoint request body and 409 size answer."""

from __future__ import annotations

import pytest

from ledger.errors import InputError
from ledger.log.witnessing import encode_add_checkpoint, parse_add_checkpoint, parse_size

SPEC_REQUEST = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)


def test_the_spec_example_request_parses_and_encodes_back() -> None:
    request = parse_add_checkpoint(SPEC_REQUEST.encode())
    assert request.old_size == 20852014
    assert len(request.proof) == 4
    assert request.note.startswith("example.com/behind-the-sofa\n20852163\n")
    again = encode_add_checkpoint(old_size=20852014, proof=request.proof, note=request.note)
    assert again == SPEC_REQUEST.encode()


@pytest.mark.parametrize(
    "body",
    [
        b"old 01\n\nnote",
        b"old -1\n\nnote",
        b"new 5\n\nnote",
        b"old 5\nnote without blank line",
        b"old 5\nnot-base64!\n\nnote",
        b"old 5\nAAAA\n\nnote",
        b"old 5\n" + b"PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n" * 64 + b"\nnote",
        b"old 5\n\n\xff",
    ],
    ids=[
        "leading-zero",
        "negative",
        "no-old-line",
        "no-blank-line",
        "bad-base64",
        "short-hash",
        "64-proof-lines",
        "not-utf8",
    ],
)
def test_malformed_requests_are_refused(body: bytes) -> None:
    with pytest.raises(InputError):
        parse_add_checkpoint(body)


def test_size_answer() -> None:
    assert parse_size(b"42\n") == 42
    for bad in (b"42", b"042\n", b"x\n"):
        with pytest.raises(InputError):
            parse_size(bad)
