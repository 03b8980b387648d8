"""Electronic signatures (PAdES, with pyHanko) on the archived laporan, and their checking.

The signer is configured in settings:

- `SOPFLOW_SIGNING_PKCS12` + `SOPFLOW_SIGNING_PASSWORD`: a PKCS#12 file holding the office's
  key and certificate (`manage.py make_demo_certificate` makes a clearly marked demo one);
- or `SOPFLOW_SIGNING_SERVICE`: the dotted path of a callable returning a `RemoteSigningService`,
  for a signing service that keeps the key (such as BSrE's): sopflow builds the PDF signature
  and the service only signs its digest with the key it holds;
- neither: archived laporan are stored unsigned (their SHA-256 is still recorded and checked).

Every signature carries a trusted timestamp (RFC 3161) from the timestamp authority at
`SOPFLOW_TSA_URL` (PAdES B-T) and, in the same incremental update, the validation data of the
signer's chain (the Document Security Store: certificates, and the CRLs or OCSP responses where
the chain names where to get them: PAdES B-LT), so that the signature can be checked after the
certificate has expired. The signed file stays PDF/A: pyHanko only appends to it.

`verify_signature` checks a PDF's signatures: intact (the signed bytes are unchanged), valid,
covering the whole file, and whether the signer chains to a trusted certificate
(`SOPFLOW_SIGNING_TRUST_ROOTS`, by default the configured signer's own chain).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import functools
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from asn1crypto import x509
from django.conf import settings
from django.utils.module_loading import import_string
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.generic import ArrayObject, DictionaryObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

FIELD_NAME = "TandaTanganElektronik"
logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _outside_event_loop(function: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Call `function`, which runs its own event loop (pyHanko's sync API), on a thread that
    has none when this one already runs one (an ASGI server, Playwright's sync API)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


class SigningNotConfigured(Exception):
    pass


class RemoteSigningService(Protocol):
    """What an office's signing service must offer (an adapter to BSrE's API, an HSM, …)."""

    def certificate_chain(self) -> list[bytes]:
        """DER certificates: the signer's own first, then its issuers."""

    def sign_digest(self, data: bytes, digest_algorithm: str) -> bytes:
        """The raw signature (RSA PKCS#1 v1.5, or what the key's type implies) over `data`,
        hashed with `digest_algorithm` ("sha256"): the CMS signed attributes of the PDF."""


class RemoteServiceSigner(signers.Signer):
    """A pyHanko signer whose key lives in a `RemoteSigningService`."""

    def __init__(self, service: RemoteSigningService) -> None:
        chain = [x509.Certificate.load(der) for der in service.certificate_chain()]
        super().__init__(
            signing_cert=chain[0], cert_registry=SimpleCertificateStore.from_certs(chain[1:])
        )
        self.service = service
        # pyHanko sizes the signature placeholder from a dry run; an RSA signature is as long
        # as the key's modulus.
        self.signature_size: int = chain[0].public_key.byte_size

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return bytes(self.signature_size)
        return await asyncio.to_thread(self.service.sign_digest, data, digest_algorithm)


@dataclass
class DocumentSigner:
    """Signs PDF bytes as PAdES (baseline B-B) with a pyHanko signer."""

    signer: signers.Signer

    @property
    def certificate(self) -> x509.Certificate:
        certificate = self.signer.signing_cert
        if certificate is None:
            raise SigningNotConfigured("the signer has no certificate")
        return certificate

    @property
    def subject(self) -> str:
        name: str = self.certificate.subject.human_friendly
        return name

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.certificate, *self.signer.cert_registry]

    def sign(self, data: bytes, *, reason: str, location: str) -> bytes:
        """PAdES B-LT where the validation data can be had, B-T otherwise (B-B without a
        timestamp authority configured)."""
        timestamper = configured_timestamper()

        def attempt(embed: bool) -> bytes:
            writer = IncrementalPdfFileWriter(io.BytesIO(data))
            meta = signers.PdfSignatureMetadata(
                field_name=FIELD_NAME,
                md_algorithm="sha256",
                subfilter=SigSeedSubFilter.PADES,
                reason=reason,
                location=location,
                embed_validation_info=embed,
                validation_context=_embedding_context() if embed else None,
            )
            signed: io.BytesIO = _outside_event_loop(
                signers.sign_pdf, writer, meta, signer=self.signer, timestamper=timestamper
            )
            return signed.getvalue()

        if timestamper is None:
            return attempt(False)
        try:
            return attempt(True)
        except Exception as error:  # pyHanko raises many kinds when a chain cannot be validated
            logger.warning("validation data not embedded (%s); signing as PAdES B-T", error)
            return attempt(False)


@functools.cache
def _load(pkcs12_path: str, password: str, service_path: str) -> DocumentSigner | None:
    if service_path:
        return DocumentSigner(RemoteServiceSigner(import_string(service_path)()))
    if pkcs12_path:
        passphrase = password.encode() if password else None
        signer = signers.SimpleSigner.load_pkcs12(pkcs12_path, passphrase=passphrase)
        if signer is None:
            raise SigningNotConfigured(f"cannot read the PKCS#12 file {pkcs12_path}")
        return DocumentSigner(signer)
    return None


def configured_signer() -> DocumentSigner | None:
    """The `DocumentSigner` the settings name, or None when documents are not signed."""
    return _load(
        str(settings.SOPFLOW_SIGNING_PKCS12 or ""),
        settings.SOPFLOW_SIGNING_PASSWORD or "",
        settings.SOPFLOW_SIGNING_SERVICE or "",
    )


def configured_timestamper() -> TimeStamper | None:
    """The RFC 3161 client of the timestamp authority SOPFLOW_TSA_URL names, or None."""
    url = settings.SOPFLOW_TSA_URL
    if not url:
        return None
    return HTTPTimeStamper(url, timeout=settings.SOPFLOW_TSA_TIMEOUT)


def _embedding_context() -> ValidationContext:
    """What the signer validates its chain (and the timestamp authority's) against when it
    embeds the validation data: missing revocation data is tolerated (soft-fail)."""
    tsa_roots = [path for path in settings.SOPFLOW_TSA_TRUST_ROOTS if path]
    return ValidationContext(
        trust_roots=trust_roots() + (list(load_certs_from_pemder(tsa_roots)) if tsa_roots else []),
        allow_fetching=settings.SOPFLOW_SIGNING_FETCH_REVOCATION,
        revocation_mode="soft-fail",
    )


def pades_level(data: bytes) -> str:
    """ "B-LT", "B-T" or "B-B": how far the outermost signature of PDF `data` reaches; "" for
    an unsigned or unreadable file."""
    try:
        reader = PdfFileReader(io.BytesIO(data))
        embedded = reader.embedded_signatures
        if not embedded:
            return ""
        unsigned = embedded[-1].signer_info["unsigned_attrs"]
        timestamped = any(
            attribute["type"].native == "signature_time_stamp_token"
            for attribute in (unsigned if unsigned.native is not None else [])
        )
        dss = reader.root["/DSS"] if "/DSS" in reader.root else None
    except Exception:  # a damaged file: pyHanko raises many kinds
        return ""
    if not timestamped:
        return "B-B"
    if isinstance(dss, DictionaryObject) and _has_revocation_data(dss):
        return "B-LT"
    return "B-T"


def _has_revocation_data(dss: DictionaryObject) -> bool:
    for key in ("/CRLs", "/OCSPs"):
        value = dss.get(key)
        if isinstance(value, ArrayObject) and len(value):
            return True
    return False


def trust_roots() -> list[x509.Certificate]:
    """Certificates a signature must chain to: the configured roots, else the signer's own."""
    paths = [path for path in settings.SOPFLOW_SIGNING_TRUST_ROOTS if path]
    if paths:
        return list(load_certs_from_pemder(paths))
    signer = configured_signer()
    roots = signer.chain if signer else []
    # The demo officials' certificates (make_demo_signers) are issued by a demo CA kept beside
    # them; their signatures are still shown as test certificates (DEMO_MARKERS).
    demo_ca = Path(settings.SOPFLOW_TTE_PKCS12_DIR) / "ca.pem"
    if settings.SOPFLOW_TTE_SERVICE and demo_ca.is_file():
        roots = [*roots, *load_certs_from_pemder([str(demo_ca)])]
    return roots


# Words by which a certificate says it is not an official one (make_demo_certificate's and
# make_demo_signers' names carry them): such a signature is shown as a test certificate.
DEMO_MARKERS = ("DEMO", "SERTIFIKAT UJI", "BUKAN SERTIFIKAT RESMI")
# What may follow a signature before the next one: nothing, validation data (DSS, document
# timestamps), or the filling of a further signature field. Annotations, new content or any
# other change after a signature is refused.
ACCEPTED_AFTER = (
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
)


def _subject_attribute(certificate: x509.Certificate, name: str) -> str:
    value = certificate.subject.native.get(name, "")
    if isinstance(value, list):
        value = " ".join(str(part) for part in value)
    return str(value or "")


def is_demo_certificate(certificate: x509.Certificate) -> bool:
    text = certificate.subject.human_friendly.upper()
    return any(marker in text for marker in DEMO_MARKERS)


@dataclass(frozen=True)
class SignatureInfo:
    """One signature of a PDF as the verifier found it."""

    field: str
    signer: str
    common_name: str = ""
    serial_number: str = ""
    title: str = ""
    organization: str = ""
    signed_at: datetime.datetime | None = None
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    demo: bool = False
    whole_file: bool = False
    modification: str = ""
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and not self.problem


@dataclass(frozen=True)
class SignatureCheck:
    signed: bool
    intact: bool = False
    valid: bool = False
    whole_file: bool = False
    trusted: bool = False
    signer: str = ""
    problem: str = ""
    # Every signature, earliest first; the fields above sum them up (`signer`: the last one's).
    signatures: tuple[SignatureInfo, ...] = ()

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.whole_file

    @property
    def demo(self) -> bool:
        return any(signature.demo for signature in self.signatures)


def _signature_info(embedded: Any, roots: list[x509.Certificate], last: bool) -> SignatureInfo:
    name = embedded.field_name or ""
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = _outside_event_loop(validate_pdf_signature, embedded, context)
    except (SignatureValidationError, ValueError) as error:
        return SignatureInfo(field=name, signer="", problem=str(error))
    certificate = status.signing_cert
    level = status.modification_level
    whole_file = _covers_whole_file(embedded, status)
    problem = ""
    if not (status.intact and status.valid):
        problem = "signature does not match"
    elif last and not whole_file:
        problem = "the last signature does not cover the whole file"
    elif not last and (
        status.coverage < SignatureCoverageLevel.ENTIRE_REVISION
        or level is None
        or level not in ACCEPTED_AFTER
        or status.docmdp_ok is False
    ):
        problem = f"changed after this signature ({level.name if level else 'unknown'})"
    return SignatureInfo(
        field=name,
        signer=certificate.subject.human_friendly,
        common_name=_subject_attribute(certificate, "common_name"),
        serial_number=_subject_attribute(certificate, "serial_number"),
        title=_subject_attribute(certificate, "title"),
        organization=_subject_attribute(certificate, "organization_name"),
        signed_at=status.signer_reported_dt,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        demo=is_demo_certificate(certificate),
        whole_file=whole_file,
        modification=level.name if level else "",
        problem=problem,
    )


def _covers_whole_file(embedded: Any, status: PdfSignatureStatus) -> bool:
    """The signature covers the file, or every revision after it is validation data (the DSS or
    a document timestamp a PAdES B-LT/LTA signature appends), nothing a reader sees. Bytes
    after the last revision (no new revision at all) are never covered."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    later_revisions = embedded.signed_revision < embedded.reader.total_revisions - 1
    return (
        later_revisions
        and status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and status.modification_level is not None
        and status.modification_level <= ModificationLevel.LTA_UPDATES
    )


def verify_signature(data: bytes, roots: list[x509.Certificate] | None = None) -> SignatureCheck:
    """Check every signature in PDF `data`, earliest first.

    Each must be intact and valid; each but the last may be followed only by further
    signatures or validation data (pyHanko's modification level); the last must cover the
    whole file. The check sums them up; `signatures` lists each one.
    """
    roots = trust_roots() if roots is None else roots
    try:
        reader = PdfFileReader(io.BytesIO(data))
        embedded = sorted(reader.embedded_signatures, key=lambda sig: sig.signed_revision)
    except Exception as error:  # a damaged file: pyHanko raises many kinds
        return SignatureCheck(signed=False, problem=f"unreadable PDF: {error}")
    if not embedded:
        return SignatureCheck(signed=False, problem="no signature")
    infos = tuple(
        _signature_info(sig, roots, last=index == len(embedded) - 1)
        for index, sig in enumerate(embedded)
    )
    problems = [f"{info.field}: {info.problem}" for info in infos if info.problem]
    last = infos[-1]
    return SignatureCheck(
        signed=True,
        intact=all(info.intact for info in infos),
        valid=all(info.valid for info in infos),
        whole_file=last.whole_file and not problems,
        trusted=all(info.trusted for info in infos),
        signer=last.signer,
        problem="; ".join(problems),
        signatures=infos,
    )
