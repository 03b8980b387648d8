"""Verification codes of archived laporan: the short code and the QR code printed on the PDF.

A code is 12 characters of Crockford's base32 (no I, L, O, U: nothing to misread), about 60
random bits, printed in groups of four. Anyone holding the paper can open
`/verifikasi/<code>/` (or scan the QR code, which carries that address) and see whether an
archived document with that code exists and what it is.
"""

import io
import ipaddress
import re
import secrets
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.urls import reverse

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
# The run's chain head the archived laporan carries in its metadata (a PDF keyword), covered
# by its signature: "sopflow-rantai=<number of events>:<hash of the latest>".
ANCHOR = "sopflow-rantai"
ANCHOR_PATTERN = re.compile(rf"{ANCHOR}=(\d{{1,9}}):([0-9a-f]{{64}})")
# What a reader may type instead: lower case, the letters Crockford reads as digits, dashes.
READS_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})


def new_code():
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(text):
    """The stored form of a code as somebody typed it, or "" when it cannot be one."""
    code = (text or "").upper().translate(READS_AS)
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return ""
    return code


def grouped(code):
    """ABCD1234EFGH → ABCD-1234-EFGH, as it is printed."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


LOCAL_NAMES = {"localhost", "localhost.localdomain", ""}


def site_url_problem(site_url, *, debug):
    """Why `site_url` cannot go on a document, or "": with DEBUG off, it must be https on a
    name other machines reach. A QR code printed on a signed archive cannot be corrected."""
    if debug:
        return ""
    parts = urlsplit(site_url or "")
    host = (parts.hostname or "").lower()
    try:
        local = ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        local = host in LOCAL_NAMES or host.endswith(".localhost")
    if local:
        return f"SITE_URL {site_url!r} points to this machine; QR codes and links would not open"
    if parts.scheme != "https":
        return f"SITE_URL {site_url!r} is not https"
    return ""


def url(code):
    return settings.SITE_URL.rstrip("/") + reverse("verify_document", args=[grouped(code)])


def qr_data_uri(target):
    """The QR code of `target` as an SVG data URI, for WeasyPrint."""
    return segno.make(target, error="m").svg_data_uri(scale=4, border=2)


def anchor_keyword(count, head):
    return f"{ANCHOR}={count}:{head}"


def read_anchor(data):
    """(seq, hash) of the chain head a laporan PDF carries, or None when it carries none."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        keywords = (PdfReader(io.BytesIO(data)).metadata or {}).get("/Keywords") or ""
    except (PdfReadError, ValueError, KeyError, TypeError):
        return None
    found = ANCHOR_PATTERN.search(str(keywords))
    return (int(found.group(1)), found.group(2)) if found else None
