"""Throwaway TLS material for tests (the openssl command line): a CA and a server certificate for 127.0.0.1."""
from __future__ import annotations

import subprocess
from pathlib import Path

from testing.processes import TlsFiles


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def server_certificate(folder: Path, host: str = "127.0.0.1") -> TlsFiles:
    """A one-day CA and a server certificate it signed for ``host`` (an IP address) and localhost."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.crt", folder / "ca.key"
    cert, key, request = folder / "server.crt", folder / "server.key", folder / "server.csr"
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *curve, "-days", "1", "-subj", "/CN=test CA", "-keyout", str(ca_key), "-out", str(ca))
    _openssl("req", "-new", *curve, "-subj", "/CN=nats", "-keyout", str(key), "-out", str(request))
    extensions = folder / "san.ext"
    extensions.write_text(f"subjectAltName=IP:{host},DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
    _openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", "1", "-extfile", str(extensions), "-out", str(cert))
    return TlsFiles(ca=ca, cert=cert, key=key)
