"""A local RFC 3161 timestamp authority for the tests: the demo authority
(activities/documents/demo_tsa.py) under a root of its own, which also issues a signing
certificate naming a CRL it serves. The signing code reaches it through SOPFLOW_TSA_URL exactly
as it reaches an office's TSA."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from activities.documents import demo_tsa


class LocalTsa:
    """Start with `start()`; `url`, `root_pem` (to trust), `requests` (how many it answered),
    `crl_requests`."""

    def __init__(self):
        self.authority = demo_tsa.Authority.new(
            root_name="sopflow TEST TSA Root", tsa_name="sopflow TEST TSA", days=365
        )
        self.root_pem = self.authority.root_pem
        self.crl = b""
        self.crl_requests = 0
        self._server = None

    @property
    def requests(self):
        return self._server.requests

    def issue_signer(self, password):
        """PKCS#12 bytes of a signing certificate issued by this server's root, naming the
        server's CRL as where its revocation status is published (call after `start`)."""
        root, root_key = self.authority.root, self.authority.root_key
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(demo_tsa.name("sopflow TEST penanda tangan"))
            .issuer_name(root.subject)
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
            .sign(root_key, hashes.SHA256())
        )
        self.crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(root.subject)
            .last_update(now - datetime.timedelta(hours=1))
            .next_update(now + datetime.timedelta(days=7))
            .sign(root_key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )
        return pkcs12.serialize_key_and_certificates(
            b"signer", key, certificate, [root], serialization.BestAvailableEncryption(password)
        )

    def _crl(self):
        self.crl_requests += 1
        return "application/pkix-crl", self.crl

    def start(self):
        self._server = demo_tsa.Server(self.authority)
        self._server.downloads["/ca.crl"] = self._crl
        self._server.start()
        return self

    @property
    def url(self):
        return self._server.url

    @property
    def crl_url(self):
        return self._server.url.removesuffix("/tsa") + "/ca.crl"

    def stop(self):
        self._server.stop()
