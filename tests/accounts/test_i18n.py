"""Indonesian translation: the language switch, translated pages, and a complete, compiled catalog."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

PO_PATH = settings.BASE_DIR / "locale" / "id" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

NAVIGATION_ID = ["Dasbor", "Isi ulang", "Langganan & invoice", "Percakapan", "Pengaturan", "Keluar"]
NAVIGATION_EN = ["Dashboard", "Top up", "Subscription & invoices", "Conversations", "Settings", "Log out"]

PAGES_ID = {
    "/": ["Lot kredit", "Mutasi terbaru", "1 kredit = 1 pesan chatbot"],
    "/settings/": ["Simpan detail penagihan", "Anggota", "Undang rekan tim", "Kunci API"],
    "/credits/top-up/": ["Pilih kredit", "Berapa kredit?", "Ringkasan"],
}
PAGES_EN = {
    "/": ["Credit lots", "Recent ledger"],
    "/settings/": ["Save billing details", "Invite a teammate"],
    "/credits/top-up/": ["Choose credits", "How many credits?"],
}


def _switch(client, language):
    response = client.post("/i18n/setlang/", {"language": language, "next": "/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == language


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_owner_switches_to_indonesian_and_back(owner_client):
    _switch(owner_client, "id")
    for url, texts in PAGES_ID.items():
        html = _page(owner_client, url)
        assert '<html lang="id">' in html
        for text in NAVIGATION_ID + texts:
            assert text in html, (url, text)
        assert "Subscription & invoices" not in html

    _switch(owner_client, "en")
    for url, texts in PAGES_EN.items():
        html = _page(owner_client, url)
        assert '<html lang="en">' in html
        for text in NAVIGATION_EN + texts:
            assert text in html, (url, text)
        assert "Langganan & invoice" not in html


def test_english_is_the_default_without_a_choice(owner_client):
    html = _page(owner_client, "/")
    assert "Dashboard" in html
    assert "Dasbor" not in html


def _po_entries(path: Path = PO_PATH):
    """Each entry as a dict: flags, msgctxt, msgid, msgid_plural, msgstr (msgstr[0] for plurals)."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry, key = {"flags": set()}, None
        for line in block.splitlines():
            if line.startswith("#~"):
                entry, key = None, None
                break
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
                continue
            if line.startswith("#") or not line.strip():
                continue
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$', line)
            if match:
                key = match.group(1)
                entry[key] = ast.literal_eval(match.group(2))
            else:
                assert key and line.startswith('"'), line
                entry[key] += ast.literal_eval(line)
        if entry and "msgid" in entry:
            entry["msgstr"] = entry.get("msgstr", entry.get("msgstr[0]"))
            entries.append(entry)
    return entries


def test_po_is_complete_and_not_fuzzy():
    entries = _po_entries()
    header, messages = entries[0], entries[1:]
    assert header["msgid"] == ""
    assert "fuzzy" not in header["flags"]
    assert "Language: id\n" in header["msgstr"]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header["msgstr"]
    assert len(messages) > 700
    assert [e["msgid"] for e in messages if "fuzzy" in e["flags"]] == []
    assert [e["msgid"] for e in messages if not e["msgstr"].strip()] == []
    for e in messages:
        placeholders = sorted(re.findall(r"%\(\w+\)[sd]|%%", e["msgid"]))
        assert sorted(re.findall(r"%\(\w+\)[sd]|%%", e["msgstr"])) == placeholders, e["msgid"]


def _untranslated(path: Path) -> list[str]:
    return [e["msgid"] for e in _po_entries(path)[1:] if "fuzzy" in e["flags"] or not e["msgstr"].strip()]


def test_po_passes_msgfmt_check(tmp_path):
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(PO_PATH)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# What makemessages reads: the apps and templates; not the tests, benchmarks, docs or the environment.
NOT_SOURCE = {".git", ".venv", "var", "docs", "tests", "bench", "static", "staticfiles", "node_modules"}


def test_every_string_in_the_code_and_templates_is_translated(tmp_path):
    """makemessages over a copy of the tree (the real catalogue is edited by hand, never regenerated) adds every
    string the code and templates ask for; each must come out translated, none new, none fuzzy."""
    base = Path(settings.BASE_DIR)
    copy = tmp_path / "saldo"
    copy.mkdir()
    for entry in base.iterdir():
        if entry.name in NOT_SOURCE or entry.name.startswith("."):
            continue
        if entry.is_dir():
            shutil.copytree(entry, copy / entry.name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy2(entry, copy / entry.name)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "id", "--no-obsolete"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert _untranslated(copy / "locale" / "id" / "LC_MESSAGES" / "django.po") == []


def test_mo_is_compiled_from_the_po():
    assert MO_PATH.exists()
    assert MO_PATH.stat().st_size > 0
    with translation.override("id"):
        for e in _po_entries()[1:]:
            if "msgctxt" in e:
                got = translation.pgettext(e["msgctxt"], e["msgid"])
            elif "msgid_plural" in e:
                got = translation.ngettext(e["msgid"], e["msgid_plural"], 1)
            else:
                got = translation.gettext(e["msgid"])
            assert got == e["msgstr"], e["msgid"]


@pytest.mark.parametrize(
    ("english", "indonesian"),
    [
        ("Top up", "Isi ulang"),
        ("Dashboard", "Dasbor"),
        ("Settings", "Pengaturan"),
        ("Log out", "Keluar"),
        ("Organization", "Organisasi"),
        ("Balance", "Saldo"),
        ("Invoice", "Invoice"),
    ],
)
def test_key_terms(english, indonesian):
    with translation.override("id"):
        assert translation.gettext(english) == indonesian
    with translation.override("en"):
        assert translation.gettext(english) == english


def test_plural_forms_in_indonesian():
    with translation.override("id"):
        for n in (1, 2, 5):
            assert translation.ngettext("expires in %(d)s day", "expires in %(d)s days", n) % {"d": n} == (
                f"kedaluwarsa dalam {n} hari"
            )
