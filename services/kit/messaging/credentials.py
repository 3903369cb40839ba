"""A service's NATS credential (an NKEY: the server holds only the public key) and how it connects with it.

The seed (``NATS_NKEY_SEED``, from a Secret) signs the server's nonce at connection; it never travels. TLS when
the URL says ``tls://``: from the first byte (``handshake_first``), so nothing, not even the signed nonce,
crosses the network in clear, and a stripped "TLS required" cannot downgrade the connection.

``python -m kit.messaging.credentials`` prints a new seed and its public key (for deploy/README.md).
"""
from __future__ import annotations

import hashlib
import os
import ssl
from typing import Any
from urllib.parse import urlsplit

import nkeys


def new_seed() -> str:
    """A new user NKEY seed ("SU..."): keep it secret, give the server its public key."""
    seed: bytes = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    return seed.decode()


def development_seed(name: str) -> str:
    """The development overlay's published seed for ``name`` (anyone can make it: production refuses it)."""
    seed: bytes = nkeys.encode_seed(hashlib.sha256(f"development-only-nats-{name}".encode()).digest(),
                                    nkeys.PREFIX_BYTE_USER)
    return seed.decode()


def public_key(seed: str) -> str:
    """The public key ("U...") of a user seed; raises ValueError if it is not one."""
    try:
        prefix, _ = nkeys.decode_seed(bytearray(seed.strip().encode()))
        if prefix != nkeys.PREFIX_BYTE_USER:
            raise ValueError("not a user NKEY seed")
        key: bytes = nkeys.from_seed(bytearray(seed.strip().encode())).public_key
        return key.decode()
    except nkeys.NkeysError as exc:
        raise ValueError("not a valid NKEY seed") from exc


def uses_tls(url: str) -> bool:
    """Every server of a comma-separated NATS URL list is ``tls://``."""
    return all(urlsplit(server.strip()).scheme == "tls" for server in url.split(","))


def tls_context(ca_file: str = "", cert_file: str = "", key_file: str = "") -> ssl.SSLContext:
    """Verifies the server against ``ca_file`` (else the system's CAs); presents a client certificate if given."""
    context = ssl.create_default_context(cafile=ca_file or None)
    if cert_file:
        context.load_cert_chain(cert_file, key_file or None)
    return context


def connect_options(settings: Any, inbox_prefix: str) -> dict[str, Any]:
    """The authentication and TLS keyword arguments of ``nats.connect`` for a service's settings."""
    options: dict[str, Any] = {"inbox_prefix": inbox_prefix}
    seed = settings.nats_nkey_seed.get_secret_value()
    if seed:
        options["nkeys_seed_str"] = seed
    if uses_tls(settings.nats_url):
        options["tls"] = tls_context(settings.nats_ca_file, settings.nats_cert_file, settings.nats_key_file)
        options["tls_handshake_first"] = True
    return options


if __name__ == "__main__":
    made = new_seed()
    print(f"seed (secret, for the service's NATS_NKEY_SEED): {made}\npublic key (for NATS):              "
          f"{public_key(made)}")
