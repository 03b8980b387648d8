"""The personal electronic signature (TTE) of an official: one interface, two services.

A TTE is the official's own act: his certificate, his passphrase or TOTP, at the moment he
signs. sopflow sends the whole PDF and the secret to a signing service and gets the signed PDF
back; the secret is passed through and never stored, logged or queued.

- `Pkcs12Signing`: a PKCS#12 file per person in a folder (`<NIP>.p12`), its password being the
  person's passphrase: the demo (`manage.py make_demo_signers`) and offices without a service.
- `EsignClient`: BSrE's Esign Client API: `POST /api/v2/sign/pdf` with `nik` (or `email`),
  `passphrase` (or `totp`), `signatureProperties` and the file in base64; the answer carries the
  signed file in base64. One request with a timeout, never repeated by sopflow: a timeout after
  the request was sent is `OutcomeUnknown`, and the caller looks at the stored document instead
  of signing again.
- `activities.documents.esign_fake` is a small server speaking that API with demo certificates,
  for the tests and the demo.

`configured_service()` returns the one the settings name (`SOPFLOW_TTE_SERVICE`), or None: then
archived laporan are sealed by the office alone, as before.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter

from activities.documents import signing

logger = logging.getLogger(__name__)


class TteError(Exception):
    """A signing that did not happen; `message` is for the person signing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WrongCredential(TteError):
    """The passphrase or TOTP was refused: nothing was signed."""


class ServiceUnavailable(TteError):
    """The service could not be reached: nothing was sent."""


class ServiceRefused(TteError):
    """The service answered with an error (unknown signer, damaged file, …)."""


class OutcomeUnknown(TteError):
    """The document was sent but no answer came in time: it may or may not have been signed."""


@dataclass(frozen=True)
class Person:
    """Who signs, as the service knows him."""

    name: str
    nip: str = ""
    nik: str = ""
    email: str = ""


class Credential:
    """A passphrase or a TOTP, held only for the one call; never printed."""

    PASSPHRASE = "passphrase"
    TOTP = "totp"

    def __init__(self, kind: str, value: str) -> None:
        if kind not in (self.PASSPHRASE, self.TOTP):
            raise ValueError(kind)
        self.kind = kind
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Credential({self.kind}, ***)"

    __str__ = __repr__


@dataclass(frozen=True)
class Appearance:
    """What the signature says of itself; `field` is used where the service lets us name it."""

    reason: str
    location: str
    field: str = "TTE"


class PersonalSigning(Protocol):
    def sign_pdf(
        self, data: bytes, *, person: Person, credential: Credential, appearance: Appearance
    ) -> bytes:
        """The PDF signed (incrementally) by `person`; a `TteError` when it is not."""


def sign_with_pkcs12(
    data: bytes, pkcs12: Path, passphrase: str, *, reason: str, location: str, field: str
) -> bytes:
    """`data` signed incrementally (PAdES B-B) with the key in `pkcs12`."""
    try:
        signer = signers.SimpleSigner.load_pkcs12(str(pkcs12), passphrase=passphrase.encode())
    except (ValueError, TypeError):
        signer = None
    if signer is None:
        raise WrongCredential(_("Passphrase salah."))
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(
        field_name=field,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    signed: io.BytesIO = signing._outside_event_loop(signers.sign_pdf, writer, meta, signer=signer)
    return signed.getvalue()


@dataclass
class Pkcs12Signing:
    """A folder of PKCS#12 files, one per person, named by NIP; the password is the passphrase."""

    folder: Path

    def sign_pdf(
        self, data: bytes, *, person: Person, credential: Credential, appearance: Appearance
    ) -> bytes:
        if credential.kind != Credential.PASSPHRASE:
            raise ServiceRefused(_("Layanan tanda tangan ini hanya menerima passphrase."))
        path = self.folder / f"{person.nip}.p12"
        if not person.nip or not path.is_file():
            raise ServiceRefused(
                _("Belum ada sertifikat elektronik untuk %(name)s (NIP %(nip)s).")
                % {"name": person.name, "nip": person.nip or "-"}
            )
        return sign_with_pkcs12(
            data,
            path,
            credential.reveal(),
            reason=appearance.reason,
            location=appearance.location,
            field=appearance.field,
        )


@dataclass
class EsignClient:
    """BSrE's Esign Client API over HTTP(S), with the client's basic-auth account."""

    base_url: str
    username: str = ""
    password: str = ""
    timeout: float = 30.0

    def _connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.base_url)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.netloc, timeout=self.timeout)
        return http.client.HTTPConnection(parts.netloc, timeout=self.timeout)

    def post(self, path: str, body: dict) -> dict:
        """One POST; the answer's JSON. Never repeated here."""
        prefix = urlsplit(self.base_url).path.rstrip("/")
        payload = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.username:
            account = f"{self.username}:{self.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(account).decode("ascii")
        connection = self._connection()
        try:
            try:
                connection.connect()
            except OSError as error:
                logger.warning("TTE service unreachable: %s", error.__class__.__name__)
                raise ServiceUnavailable(
                    _("Layanan tanda tangan elektronik tidak dapat dihubungi. Coba lagi nanti.")
                ) from error
            try:
                connection.request("POST", prefix + path, body=payload, headers=headers)
                response = connection.getresponse()
                raw = response.read()
            except (TimeoutError, OSError, http.client.HTTPException) as error:
                logger.warning("TTE service: no answer to %s (%s)", path, error.__class__.__name__)
                raise OutcomeUnknown(
                    _(
                        "Dokumen sudah dikirim ke layanan tanda tangan elektronik, tetapi "
                        "jawabannya tidak datang dalam %(seconds)s detik."
                    )
                    % {"seconds": int(self.timeout)}
                ) from error
        finally:
            connection.close()
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.status >= 400:
            message = str(answer.get("error") or answer.get("message") or response.reason)
            logger.info("TTE service refused %s: HTTP %s", path, response.status)
            if response.status in (400, 401, 403) and _is_credential_error(message):
                raise WrongCredential(_("Passphrase atau TOTP ditolak: %(m)s") % {"m": message})
            raise ServiceRefused(
                _("Layanan tanda tangan elektronik menolak: %(m)s") % {"m": message}
            )
        return answer

    def sign_pdf(
        self, data: bytes, *, person: Person, credential: Credential, appearance: Appearance
    ) -> bytes:
        body: dict = {}
        if person.nik:
            body["nik"] = person.nik
        elif person.email:
            body["email"] = person.email
        else:
            raise ServiceRefused(
                _("NIK atau e-mail %(name)s belum tercatat di data pegawai.")
                % {"name": person.name}
            )
        body[credential.kind] = credential.reveal()
        body["signatureProperties"] = [
            {
                "tampilan": "INVISIBLE",
                "location": appearance.location,
                "reason": appearance.reason,
            }
        ]
        body["file"] = [base64.b64encode(data).decode("ascii")]
        return _first_file(self.post("/api/v2/sign/pdf", body))

    def verify_pdf(self, data: bytes) -> dict:
        return self.post("/api/v2/verify/pdf", {"file": base64.b64encode(data).decode("ascii")})


CREDENTIAL_WORDS = ("passphrase", "totp", "otp", "password", "kata sandi")


def _is_credential_error(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in CREDENTIAL_WORDS)


def _first_file(answer: dict) -> bytes:
    files = answer.get("file")
    encoded = files[0] if isinstance(files, list) and files else files
    if not isinstance(encoded, str):
        raise ServiceRefused(_("Layanan tanda tangan elektronik tidak mengembalikan berkas."))
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ServiceRefused(_("Berkas dari layanan tanda tangan rusak.")) from error


def configured_service() -> PersonalSigning | None:
    """The personal signing service the settings name, or None (the office seal alone)."""
    kind = settings.SOPFLOW_TTE_SERVICE
    if kind == "pkcs12":
        return Pkcs12Signing(Path(settings.SOPFLOW_TTE_PKCS12_DIR))
    if kind == "esign":
        return EsignClient(
            settings.SOPFLOW_ESIGN_URL,
            settings.SOPFLOW_ESIGN_USERNAME,
            settings.SOPFLOW_ESIGN_PASSWORD,
            settings.SOPFLOW_ESIGN_TIMEOUT,
        )
    return None


def check_signed(sent: bytes, returned: bytes, *, signatures: int) -> signing.SignatureCheck:
    """The returned document checked: exactly `sent` with one more signature, every signature
    intact and valid, the last covering the whole file. A `ServiceRefused` otherwise."""
    if not returned.startswith(sent):
        raise ServiceRefused(
            _("Dokumen yang dikembalikan layanan bukan dokumen yang dikirim; tidak disimpan.")
        )
    check = signing.verify_signature(returned)
    if not check.ok or len(check.signatures) != signatures:
        logger.warning("TTE service returned a document that does not verify: %s", check.problem)
        raise ServiceRefused(
            _("Tanda tangan pada dokumen yang dikembalikan tidak sah; tidak disimpan.")
        )
    return check
