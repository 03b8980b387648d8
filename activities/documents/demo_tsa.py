"""A demo RFC 3161 timestamp authority, for `make run` and the tests.

An office timestamps its signatures at a real timestamp authority (SOPFLOW_TSA_URL). The demo
has none, so `manage.py demo_tsa` serves one on 127.0.0.1: pyHanko's DummyTimeStamper answers
`application/timestamp-query` with a token signed by a demo TSA certificate (extended key usage
timeStamping) under a demo root, both marked in their names as not a real authority. The keys
are kept in a folder, so the root the demo trusts (SOPFLOW_TSA_TRUST_ROOTS) stays the same from
one `make run` to the next. The signing code reaches it exactly as it reaches an office's TSA.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from activities.documents.demo_certificates import issue_certificate

ROOT_NAME = "sopflow DEMO TSA Root - BUKAN TSA RESMI"
TSA_NAME = "sopflow DEMO TSA - BUKAN TSA RESMI"
# The files of an authority's folder.
FILES = ("root.pem", "root-key.pem", "tsa.pem", "tsa-key.pem")


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
        ]
    )


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_key(data: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the demo TSA keys are RSA keys")
    return key


@dataclass
class Authority:
    """The demo root and the TSA certificate it issued, with their keys."""

    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    tsa: x509.Certificate
    tsa_key: rsa.RSAPrivateKey

    @classmethod
    def new(cls, *, root_name: str = ROOT_NAME, tsa_name: str = TSA_NAME, days: int = 5 * 365):
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root = issue_certificate(
            name(root_name),
            root_key.public_key(),
            issuer=name(root_name),
            signer=root_key,
            ca=True,
            path_length=None,
            days=days,
        )
        tsa = issue_certificate(
            name(tsa_name),
            tsa_key.public_key(),
            issuer=name(root_name),
            signer=root_key,
            ca=False,
            path_length=None,
            days=days,
            extended_usage=[ExtendedKeyUsageOID.TIME_STAMPING],
        )
        return cls(root, root_key, tsa, tsa_key)

    @classmethod
    def in_folder(cls, folder: Path) -> Authority:
        """The authority kept in `folder`, made and written there the first time."""
        paths = [folder / file for file in FILES]
        if all(path.exists() for path in paths):
            root, root_key, tsa, tsa_key = (path.read_bytes() for path in paths)
            return cls(
                x509.load_pem_x509_certificate(root),
                _load_key(root_key),
                x509.load_pem_x509_certificate(tsa),
                _load_key(tsa_key),
            )
        authority = cls.new()
        folder.mkdir(parents=True, exist_ok=True)
        contents = (
            authority.root_pem,
            _key_pem(authority.root_key),
            authority.tsa.public_bytes(serialization.Encoding.PEM),
            _key_pem(authority.tsa_key),
        )
        for path, content in zip(paths, contents, strict=True):
            path.write_bytes(content)
            if path.name.endswith("-key.pem"):
                path.chmod(0o600)
        return authority

    @property
    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)

    def stamper(self) -> DummyTimeStamper:
        return DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(self.tsa.public_bytes(serialization.Encoding.DER)),
            tsa_key=asn1_keys.PrivateKeyInfo.load(
                self.tsa_key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            certs_to_embed=[
                asn1_x509.Certificate.load(self.root.public_bytes(serialization.Encoding.DER))
            ],
        )


class Server:
    """The authority over HTTP: POST an RFC 3161 request to any path; `downloads` maps GET
    paths to (content type, bytes) for what else a test serves (a CRL)."""

    def __init__(self, authority: Authority, host: str = "127.0.0.1", port: int = 0):
        self.requests = 0
        self.downloads: dict[str, Callable[[], tuple[str, bytes]]] = {}
        stamper = authority.stamper()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self, content_type: str, data: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 (http.server's name)
                download = owner.downloads.get(self.path)
                if download is None:
                    self.send_error(404)
                    return
                self._reply(*download())

            def do_POST(self):  # noqa: N802 (http.server's name)
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415)
                    return
                try:
                    length = int(self.headers.get("Content-Length", "0"))
                    request = tsp.TimeStampReq.load(self.rfile.read(min(length, 65536)))
                    response = stamper.request_tsa_response(request).dump()
                except (ValueError, TypeError):
                    self.send_error(400)
                    return
                owner.requests += 1
                self._reply("application/timestamp-reply", response)

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer((host, port), Handler)

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host}:{port}/tsa"

    def start(self) -> Server:
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
