"""Imports run one way (DESIGN.md, "Apps and what each owns"): every import of one of Saldo's apps by another,
at the top of a module or inside a function, is one the layering allows. Migrations are left out (they name
other apps' models by string and run frozen)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "core": set(),
    "accounts": {"core"},
    "events": {"core", "accounts"},
    "credits": {"core", "accounts", "events"},
    "invoices": {"core", "accounts", "events"},
    "billing": {"core", "accounts", "events", "credits", "invoices"},
    "conversations": {"core", "accounts", "events", "invoices"},
    "console": {"core", "accounts", "events", "credits", "invoices", "billing", "conversations"},
    "config": {"core", "accounts", "events", "credits", "invoices", "billing", "conversations", "console"},
}


def imports_of(app: str) -> dict[str, set[str]]:
    """The other apps ``app`` imports, each with the files that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED and top != app:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("app", list(ALLOWED))
def test_an_app_imports_only_the_apps_below_it(app):
    upward = {other: files for other, files in imports_of(app).items() if other not in ALLOWED[app]}
    assert upward == {}, f"{app} imports upward: {upward}"


def test_accounts_is_at_the_bottom_of_the_apps_with_models():
    assert set(imports_of("accounts")) <= {"core"}
    assert imports_of("core") == {}


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "accounts"
    fake.mkdir()
    (fake / "bad.py").write_text("def f():\n    from billing.services import purchase_create\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert imports_of("accounts") == {"billing": {"accounts/bad.py"}}
