"""A small stand-in for BSrE's Esign Client, for the tests and the demo: never for real use.

It speaks the part of the API sopflow uses (`POST /api/v2/sign/pdf`, `/api/v2/seal/pdf`,
`/api/v2/verify/pdf`, JSON with the files in base64, basic auth) and signs with demo
certificates: `<folder>/<NIK or e-mail>.p12`, whose password is the signer's passphrase
(`manage.py make_demo_signers` writes them). `delay` seconds before answering a signing lets a
test see a timeout after sending. It keeps no passphrase: `calls` records only path and signer.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from activities.documents import signing, tte


@dataclass
class FakeEsign:
    folder: Path
    username: str = "esign"
    password: str = "esign-demo"
    seal_pkcs12: Path | None = None
    seal_totp: str = ""
    delay: float = 0.0
    calls: list = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def answer(self, path: str, body: dict) -> tuple[int, dict]:
        if path == "/api/v2/sign/pdf":
            key = str(body.get("nik") or body.get("email") or "")
            self.calls.append((path, key))
            if self.delay:
                time.sleep(self.delay)
            secret = body.get("passphrase") or body.get("totp") or ""
            return self._sign(body, self.folder / f"{key}.p12", str(secret), key)
        if path == "/api/v2/seal/pdf":
            self.calls.append((path, str(body.get("idSubscriber") or "")))
            if self.seal_pkcs12 is None or body.get("totp") != self.seal_totp:
                return 400, {"status_code": 2031, "error": "TOTP segel tidak valid"}
            return self._sign(body, self.seal_pkcs12, "", "seal")
        if path == "/api/v2/verify/pdf":
            self.calls.append((path, ""))
            data = _decode(body.get("file"))
            if data is None:
                return 400, {"status_code": 2021, "error": "Berkas tidak valid"}
            check = signing.verify_signature(data)
            return 200, {
                "conclusion": "VALID" if check.ok else "INVALID",
                "signatureInformations": [
                    {"signerName": info.common_name, "signatureDate": str(info.signed_at or "")}
                    for info in check.signatures
                ],
            }
        return 404, {"status_code": 404, "error": "Not Found"}

    def _sign(self, body: dict, pkcs12: Path, secret: str, key: str) -> tuple[int, dict]:
        files = body.get("file")
        data = _decode(files[0] if isinstance(files, list) and files else files)
        if data is None:
            return 400, {"status_code": 2021, "error": "Berkas tidak valid"}
        if not pkcs12.is_file():
            return 400, {"status_code": 2011, "error": f"User {key} tidak terdaftar"}
        properties = (body.get("signatureProperties") or [{}])[0]
        try:
            signed = tte.sign_with_pkcs12(
                data,
                pkcs12,
                secret,
                reason=str(properties.get("reason") or ""),
                location=str(properties.get("location") or ""),
                field=f"BSrE-{int(time.time() * 1000)}",
            )
        except tte.WrongCredential:
            return 400, {"status_code": 2031, "error": "Passphrase anda salah"}
        return 200, {"file": [base64.b64encode(signed).decode("ascii")]}

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a thread; the base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                expected = base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._reply(401, {"status_code": 401, "error": "Unauthorized"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    self._reply(400, {"status_code": 400, "error": "Bad Request"})
                    return
                status, answer = fake.answer(self.path, body)
                self._reply(status, answer)

            def _reply(self, status: int, answer: dict) -> None:
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass  # a request body holds a passphrase: nothing of it is printed

        self.server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        bound_host, bound_port = self.server.server_address[:2]
        return f"http://{bound_host}:{bound_port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _decode(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
