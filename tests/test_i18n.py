"""The English translation: switching language, and a catalogue that is complete and compiled.

Msgids are Bahasa Indonesia; locale/en/LC_MESSAGES/django.po holds the English. `make messages`
refreshes the catalogue from the source and compiles it.
"""

import ast
import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PO = CATALOGUE / "django.po"
MO = CATALOGUE / "django.mo"


@pytest.fixture(autouse=True)
def _default_language_afterwards():
    # LocaleMiddleware activates the request's language for the whole thread; later tests read
    # messages outside a request and expect the default.
    yield
    translation.deactivate()


def switch_to_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/tugas/"})
    assert response.status_code == 302
    assert response["Location"] == "/tugas/"
    return response


def test_default_language_is_indonesian(client_for):
    client = client_for("kasi")

    inbox = client.get("/tugas/").content.decode()
    library = client.get("/sop/").content.decode()

    assert '<html lang="id">' in inbox
    assert "Tugas saya" in inbox
    assert "My tasks" not in inbox
    assert "Pustaka SOP" in library
    assert "Buka kegiatan baru" in library
    assert "SOP library" not in library


def test_switching_to_english_translates_inbox_and_library(client_for):
    client = client_for("kasi")

    switch_to_english(client)
    inbox = client.get("/tugas/").content.decode()
    library = client.get("/sop/").content.decode()

    assert '<html lang="en">' in inbox
    assert "My tasks" in inbox
    assert "Tugas saya" not in inbox
    assert "Log out" in inbox
    assert "Keluar" not in inbox
    assert "SOP library" in library
    assert "Pustaka SOP" not in library
    assert "Open new activity" in library
    assert "Buka kegiatan baru" not in library
    assert "Total time" in library


def test_english_sticks_until_switched_back(client_for):
    client = client_for("kasi")
    switch_to_english(client)

    client.post("/i18n/setlang/", {"language": "id", "next": "/sop/"})
    library = client.get("/sop/").content.decode()

    assert "Pustaka SOP" in library
    assert "SOP library" not in library


def test_an_unknown_language_keeps_indonesian(client_for):
    client = client_for("kasi")

    response = client.post("/i18n/setlang/", {"language": "xx", "next": "/tugas/"})

    assert response.status_code == 302
    assert "Tugas saya" in client.get("/tugas/").content.decode()


def test_messages_are_translated_too(client_for, sop1):
    client = client_for("kasi")
    switch_to_english(client)

    response = client.post(
        f"/kegiatan/baru/?sop={sop1.pk}",
        {"title": "", "scheduled_on": "", "place": ""},
    )

    page = response.content.decode()
    assert "The activity title is required." in page
    assert "Judul kegiatan wajib diisi." not in page


def read_po(path):
    """The entries of a .po file as dicts: msgctxt, msgid, msgid_plural, msgstr[n], flags."""
    entries, entry, key = [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if entry is not None:
                entries.append(entry)
            entry, key = None, None
            continue
        if line.startswith("#~"):
            continue
        entry = entry if entry is not None else {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(key, int):
                entry["msgstr"][key] += value
            else:
                entry[key] += value
        else:
            keyword, _, value = line.partition(" ")
            if keyword.startswith("msgstr["):
                key = int(keyword[len("msgstr[") : -1])
                entry["msgstr"][key] = ast.literal_eval(value)
            elif keyword == "msgstr":
                key = 0
                entry["msgstr"][0] = ast.literal_eval(value)
            else:
                key = keyword
                entry[key] = ast.literal_eval(value)
    header = [e for e in entries if e["msgid"] == "" and "msgctxt" not in e]
    assert len(header) == 1, "the .po file needs exactly one header entry"
    return header[0], [e for e in entries if e is not header[0]]


def test_catalogue_header():
    header, _ = read_po(PO)
    fields = dict(line.split(": ", 1) for line in header["msgstr"][0].splitlines() if ": " in line)

    assert fields["Language"] == "en"
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    assert "fuzzy" not in header["flags"]


def test_every_entry_is_translated_and_checked():
    _, entries = read_po(PO)

    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    plurals_incomplete = [
        e["msgid"] for e in entries if "msgid_plural" in e and sorted(e["msgstr"]) != [0, 1]
    ]

    assert len(entries) > 400
    assert untranslated == []
    assert fuzzy == []
    assert plurals_incomplete == []


def test_compiled_catalogue_matches_the_po_file():
    """Run `make messages` (or compilemessages) after editing django.po."""
    _, entries = read_po(PO)
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog

    expected = {}
    for entry in entries:
        msgid = entry["msgid"]
        if "msgctxt" in entry:
            msgid = f"{entry['msgctxt']}\x04{msgid}"
        if "msgid_plural" in entry:
            for n, text in entry["msgstr"].items():
                expected[(msgid, n)] = text
        else:
            expected[msgid] = entry["msgstr"][0]
    compiled.pop("", None)

    stale = sorted(str(key) for key in expected if compiled.get(key) != expected[key])
    assert stale == [], "django.mo is older than django.po: run `make messages`"
    assert len(compiled) == len(expected)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext tools are not installed")
def test_msgfmt_accepts_the_catalogue(tmp_path):
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "django.mo"), str(PO)],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr
    assert "fuzzy" not in result.stderr


def test_documents_stay_in_bahasa_indonesia_for_an_english_reader(client_for, sop1):
    import io

    from pypdf import PdfReader

    client = client_for("kasi")
    client.post("/i18n/setlang/", {"language": "en", "next": "/sop/"})
    assert "SOP library" in client.get("/sop/").content.decode()
    response = client.get(f"/sop/{sop1.pk}/pdf/")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Jumlah waktu" in text and "KEGIATAN" in text
