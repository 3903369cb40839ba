"""deploy/'s NATS trust (ARCHITECTURE §9, review finding 3): the authorization is the one the services declare, the
rendered configuration is accepted by the real nats-server of each overlay, every service gets its own credential
and nothing else, a Job alone makes the streams with the provisioner's credential (the review of 2026-11-28), and
production speaks TLS (cert-manager) with a certificate valid for every name used."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kit.messaging.credentials import development_seed, new_seed, public_key
from kit.messaging.provision import ProvisionerSettings
from kit.messaging.trust import PROVISIONER, deployed_authorization
from testing.processes import nats_server_binary

from .manifests import (
    K8S,
    OVERLAYS,
    SERVICES,
    all_containers,
    env_sources,
    find,
    main_container,
    of_kind,
    plain_env,
    pod_owners,
    pod_spec,
    secret_value,
)

PORTAL = list(SERVICES)
CERT_SPEC_KEYS = {"secretName", "isCA", "commonName", "duration", "renewBefore", "privateKey", "usages", "dnsNames",
                  "issuerRef"}


def test_the_authorization_is_generated_from_the_services_declarations() -> None:
    """Adding a consumer or a stream without regenerating would leave NATS refusing it (or allowing the old)."""
    committed = (K8S / "base" / "config" / "nats-auth.conf").read_text()
    assert committed == deployed_authorization(PORTAL), \
        "regenerate: python -m kit.messaging.trust cofor identity support > deploy/k8s/base/config/nats-auth.conf"


def nats_config(overlay: str) -> dict[str, str]:
    """The files of ConfigMap nats-config (its name carries kustomize's content hash)."""
    [config] = [c for c in of_kind(overlay, "ConfigMap") if c["metadata"]["name"].startswith("nats-config")]
    return dict(config["data"])


def nkeys_environment(overlay: str) -> dict[str, str]:
    """The NATS pods' public keys: the development overlay's own, production's made up here (out of band there)."""
    if overlay == "development":
        found = find(overlay, "ConfigMap", "nats-nkeys")
        assert found is not None
        return dict(found["data"])
    return {f"NATS_NKEY_{s.upper()}_{slot}": public_key(new_seed()) for s in [*PORTAL, PROVISIONER] for slot in "AB"}


def throwaway_certificate(folder: Path) -> None:
    folder.mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=nats", "-keyout", str(folder / "tls.key"), "-out",
                    str(folder / "tls.crt")], check=True, capture_output=True)
    (folder / "ca.crt").write_bytes((folder / "tls.crt").read_bytes())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nats_server_accepts_the_rendered_configuration(overlay: str, tmp_path: Path) -> None:
    files = nats_config(overlay)
    assert set(files) == {"nats.conf", "nats-auth.conf", "tls.conf", "cluster-tls.conf"}
    places = {"/etc/nats/tls": str(tmp_path / "tls"), "/data/jetstream": str(tmp_path / "js"),
              "/var/run/nats": str(tmp_path)}
    for name, text in files.items():
        for where, here in places.items():
            text = text.replace(where, here)
        (tmp_path / name).write_text(text)
    if overlay == "production":
        throwaway_certificate(tmp_path / "tls")
        assert "handshake_first: true" in files["tls.conf"] and "verify: true" in files["cluster-tls.conf"]
    environment = {"PATH": os.environ.get("PATH", ""), "POD_NAME": "nats-0", **nkeys_environment(overlay)}
    checked = subprocess.run([nats_server_binary(), "-c", str(tmp_path / "nats.conf"), "-t"], env=environment,
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0 and "is valid" in checked.stdout + checked.stderr, checked.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_gets_its_own_nats_credential_and_nothing_else(overlay: str) -> None:
    for name in [*SERVICES, "gateway"]:
        deployment = find(overlay, "Deployment", name)
        assert deployment is not None
        for container in all_containers(deployment):
            seed = env_sources(overlay, deployment, container).get("NATS_NKEY_SEED")
            if name == "gateway" or container["name"] == "migrate":
                assert seed is None, f"{name}/{container['name']} needs no NATS credential"
            else:
                assert seed == ("secret", {"name": f"{name}-secrets", "key": "NATS_NKEY_SEED"}), name
    nats = find(overlay, "StatefulSet", "nats")
    assert nats is not None
    assert pod_spec(nats)["containers"][0]["envFrom"] == [{"configMapRef": {"name": "nats-nkeys"}}]
    if overlay == "development":  # slot A holds the seed the user has; all published, so production refuses them
        keys = nkeys_environment(overlay)
        for name, secret in [*((n, f"{n}-secrets") for n in SERVICES), (PROVISIONER, "nats-provisioner")]:
            published = secret_value(overlay, secret, "NATS_NKEY_SEED")
            assert published == development_seed(name) and keys[f"NATS_NKEY_{name.upper()}_A"] == public_key(published)
            assert keys[f"NATS_NKEY_{name.upper()}_B"] == public_key(development_seed(f"{name}-next"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_job_alone_makes_the_streams_with_the_provisioners_credential(overlay: str) -> None:
    """No service may create or update a stream (republish, sources... move messages past the permissions): the Job
    nats-provision does, with a seed no other pod gets, reaching NATS as the services do."""
    job = find(overlay, "Job", "nats-provision")
    assert job is not None and pod_spec(job)["restartPolicy"] == "OnFailure"
    container = main_container(job)
    cofor = find(overlay, "Deployment", "cofor")
    assert cofor is not None and container["image"] == main_container(cofor)["image"]
    assert container["args"] == ["kit.messaging.provision", *PORTAL]
    sources = env_sources(overlay, job, container)
    assert sources["NATS_NKEY_SEED"] == ("secret", {"name": "nats-provisioner", "key": "NATS_NKEY_SEED"})
    assert [s for s, (kind, _) in sources.items() if kind == "secret"] == ["NATS_NKEY_SEED"]
    for owner in pod_owners(overlay):  # the provisioner's seed reaches no other pod
        for other in all_containers(owner):
            refs = [v["valueFrom"]["secretKeyRef"]["name"] for v in other.get("env", [])
                    if "secretKeyRef" in v.get("valueFrom", {})]
            assert owner is job or "nats-provisioner" not in refs, owner["metadata"]["name"]
    plain = plain_env(overlay, job)
    assert set(plain) <= {f.upper() for f in ProvisionerSettings.model_fields}, set(plain)
    assert plain["NATS_STREAM_REPLICAS"] == ("3" if overlay == "production" else "1")
    nats = find(overlay, "StatefulSet", "nats")
    assert nats is not None and int(plain["NATS_STREAM_REPLICAS"]) <= nats["spec"]["replicas"]
    service = plain_env(overlay, cofor)
    assert plain["NATS_URL"] == service["NATS_URL"] and plain.get("NATS_CA_FILE") == service.get("NATS_CA_FILE")
    seed = new_seed() if overlay == "production" else secret_value(overlay, "nats-provisioner", "NATS_NKEY_SEED")
    values: dict[str, Any] = {k.lower(): v for k, v in plain.items()}
    settings = ProvisionerSettings(**values, nats_nkey_seed=seed)
    assert settings.environment == ("production" if overlay == "production" else "development")


def test_production_reaches_nats_over_tls_with_a_certificate_for_every_name() -> None:
    overlay = "production"
    certificate = find(overlay, "Certificate", "nats-server")
    assert certificate is not None and set(certificate["spec"]) <= CERT_SPEC_KEYS
    names = set(certificate["spec"]["dnsNames"])
    issuer = find(overlay, "Issuer", certificate["spec"]["issuerRef"]["name"])
    assert issuer is not None and issuer["spec"]["ca"]["secretName"] == "portal-nats-ca"
    ca = find(overlay, "Certificate", "portal-nats-ca")
    assert ca is not None and ca["spec"]["isCA"] is True and ca["spec"]["secretName"] == "portal-nats-ca"
    assert {"server auth", "client auth"} <= set(certificate["spec"]["usages"])  # routes: mutual TLS
    secret = certificate["spec"]["secretName"]

    nats = find(overlay, "StatefulSet", "nats")
    assert nats is not None
    volumes = {v["name"]: v for v in pod_spec(nats)["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in pod_spec(nats)["containers"][0]["volumeMounts"]}
    assert volumes[mounts["/etc/nats/tls"]]["secret"]["secretName"] == secret
    for route in [line.strip() for line in nats_config(overlay)["nats.conf"].splitlines()
                  if line.strip().startswith("nats://")]:
        assert urlsplit(route).hostname in names, route

    for name in SERVICES:
        deployment = find(overlay, "Deployment", name)
        assert deployment is not None
        plain = plain_env(overlay, deployment)
        for server in plain["NATS_URL"].split(","):
            assert urlsplit(server).scheme == "tls" and urlsplit(server).hostname in names, server
        ca_dir = os.path.dirname(plain["NATS_CA_FILE"])
        volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in pod_spec(deployment)["containers"][0]["volumeMounts"]}
        # The CA certificate alone: the servers' private key, in the same Secret, is never projected.
        assert volumes[mounts[ca_dir]]["secret"] == {"secretName": secret, "items": [{"key": "ca.crt",
                                                                                      "path": "ca.crt"}]}
    for issued in of_kind(overlay, "Certificate"):
        assert not find(overlay, "Secret", issued["spec"]["secretName"]), "cert-manager makes these Secrets"
