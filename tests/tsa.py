"""A local RFC 3161 timestamp authority for the tests: an HTTP server on 127.0.0.1 answering
`application/timestamp-query` with pyHanko's DummyTimeStamper, signed by a test TSA certificate
(extended key usage timeStamping) under its own test root. The signing code reaches it through
SOPFLOW_TSA_URL exactly as it reaches an office's TSA."""

import datetime
import http.server
import threading

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper


def _name(common_name):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
        ]
    )


def _certificate(subject, issuer, public_key, signing_key, *, ca):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(signing_key, hashes.SHA256())


class LocalTsa:
    """Start with `start()`; `url`, `root_pem` (to trust), `requests` (how many it answered)."""

    def __init__(self):
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root_name, tsa_name = _name("sopflow TEST TSA Root"), _name("sopflow TEST TSA")
        root = _certificate(root_name, root_name, root_key.public_key(), root_key, ca=True)
        tsa = _certificate(tsa_name, root_name, tsa_key.public_key(), root_key, ca=False)
        self.root_pem = root.public_bytes(serialization.Encoding.PEM)
        root_der = root.public_bytes(serialization.Encoding.DER)
        self.stamper = DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(tsa.public_bytes(serialization.Encoding.DER)),
            tsa_key=asn1_keys.PrivateKeyInfo.load(
                tsa_key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            certs_to_embed=[asn1_x509.Certificate.load(root_der)],
        )
        self.requests = 0
        self.crl_requests = 0
        self._server = None
        self._root, self._root_key = root, root_key
        self.crl = b""

    def issue_signer(self, password):
        """PKCS#12 bytes of a signing certificate issued by this server's root, naming the
        server's CRL as where its revocation status is published (call after `start`)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name("sopflow TEST penanda tangan"))
            .issuer_name(self._root.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(self.crl_url)],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
            .sign(self._root_key, hashes.SHA256())
        )
        self.crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self._root.subject)
            .last_update(now - datetime.timedelta(hours=1))
            .next_update(now + datetime.timedelta(days=7))
            .sign(self._root_key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )
        return pkcs12.serialize_key_and_certificates(
            b"signer",
            key,
            certificate,
            [self._root],
            serialization.BestAvailableEncryption(password),
        )

    def start(self):
        tsa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path != "/ca.crl" or not tsa.crl:
                    self.send_error(404)
                    return
                tsa.crl_requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(tsa.crl)))
                self.end_headers()
                self.wfile.write(tsa.crl)

            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415)
                    return
                response = tsa.stamper.request_tsa_response(tsp.TimeStampReq.load(body))
                tsa.requests += 1
                data = response.dump()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self):
        host, port = self._server.server_address
        return f"http://{host}:{port}/tsa"

    @property
    def crl_url(self):
        host, port = self._server.server_address
        return f"http://{host}:{port}/ca.crl"

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
