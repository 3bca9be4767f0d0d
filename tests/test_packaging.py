"""The installed package holds every package of the tree: a new directory under ``ledger/``,
``cli/`` or ``schemas/`` that ``pyproject.toml`` does not list would work in a checkout and
vanish from a wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _packages_on_disk(repo: Path) -> set[str]:
    found: set[str] = set()
    for top, name in (("ledger", "ledger"), ("cli", "ledger.cli"), ("schemas", "ledger.schemas")):
        root = repo / top
        for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
            if directory.name == "__pycache__":
                continue
            has_python = (directory / "__init__.py").exists()
            has_data = any(f.suffix == ".json" for f in directory.iterdir())
            if has_python or has_data:
                relative = directory.relative_to(root).parts
                found.add(".".join((name, *relative)))
    return found


def test_every_package_directory_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    assert _packages_on_disk(REPO) == listed


def test_a_new_subpackage_or_data_directory_is_found(tmp_path: Path) -> None:
    for directory in ("ledger/newpart", "cli", "schemas/extra", "ledger/newpart/__pycache__"):
        (tmp_path / directory).mkdir(parents=True)
    (tmp_path / "ledger" / "__init__.py").touch()
    (tmp_path / "ledger" / "newpart" / "__init__.py").touch()
    (tmp_path / "cli" / "__init__.py").touch()
    (tmp_path / "schemas" / "extra" / "x.json").touch()
    (tmp_path / "ledger" / "newpart" / "__pycache__" / "__init__.py").touch()
    assert _packages_on_disk(tmp_path) == {
        "ledger",
        "ledger.newpart",
        "ledger.cli",
        "ledger.schemas.extra",
    }
