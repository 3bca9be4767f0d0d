"""Pictures and pages: provenance pictures (SVG, HTML, dot) and the audit report."""
