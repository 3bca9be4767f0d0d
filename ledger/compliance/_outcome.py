"""The five outcomes of a compliance check, their order, severity and exit codes."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """A verdict's outcome. A member is its string value (``"pass"``...) in JSON, f-strings
    and comparisons, so documents and bundles spell it as they always have.

    The members are listed in report order (``check --all``'s summary, the demo's table):
    iterate the class for it. :attr:`severity` orders them worst-last instead.
    """

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    EXEMPT = "exempt"
    NOT_APPLICABLE = "not_applicable"
    INCONCLUSIVE = "inconclusive"
    FAIL = "fail"

    @property
    def severity(self) -> int:
        """How bad the outcome is: the worst of several verdicts has the highest."""
        return _SEVERITY[self]

    @property
    def exit_code(self) -> int:
        """What ``bloc check`` exits with: 0 pass, exempt or not applicable, 1 fail,
        4 inconclusive."""
        return EXIT_CODES[self]


PASS = Outcome.PASS
FAIL = Outcome.FAIL
INCONCLUSIVE = Outcome.INCONCLUSIVE
EXEMPT = Outcome.EXEMPT
NOT_APPLICABLE = Outcome.NOT_APPLICABLE

EXIT_CODES: dict[Outcome, int] = {
    PASS: 0,
    EXEMPT: 0,
    NOT_APPLICABLE: 0,
    FAIL: 1,
    INCONCLUSIVE: 4,
}
_SEVERITY: dict[Outcome, int] = {
    NOT_APPLICABLE: 0,
    EXEMPT: 1,
    PASS: 2,
    INCONCLUSIVE: 3,
    FAIL: 4,
}
