"""The audit report's old import path, kept for its callers: use :mod:`ledger.render`."""

from ledger.render._report import ORDER, PolicyRun, counts, failing, render_report

__all__ = ["ORDER", "PolicyRun", "counts", "failing", "render_report"]
