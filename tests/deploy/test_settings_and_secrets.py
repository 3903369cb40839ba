"""deploy/'s settings, Secrets and ConfigMaps: every variable is one its process reads, secrets come from Secrets
only, every reference resolves, production generates no secret, and Services route to their pods
(tests/deploy/manifests.py renders the overlays)."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import yaml

from .manifests import (
    DB_CLUSTER,
    DEPLOY,
    GATEWAY_PORT,
    K8S,
    METRICS_PORT,
    SERVICES,
    all_containers,
    env_sources,
    find,
    main_container,
    of_kind,
    parametrize_overlays,
    plain_env,
    pod_labels,
    pod_owners,
    pod_spec,
    secret_value,
    selects,
    workloads,
)

# Variables that are secrets: they must come from a Secret (secretKeyRef), never from a value or a ConfigMap.
SECRET_ENV = {"DATABASE_URL", "SERVICE_CREDENTIALS", "SERVICE_TOKEN", "SMTP_PASSWORD", "MAIL_SEAL_PRIVATE_KEY",
              "NATS_NKEY_SEED", "FACTOR_SECRET_KEY"}
# What production expects to exist before the first apply (created out of band): kind, name -> keys.
OUT_OF_BAND = {
    ("Secret", "service-credentials"): {"SERVICE_CREDENTIALS"},
    ("Secret", "gateway-secrets"): {"SERVICE_TOKEN"},
    ("Secret", "cofor-secrets"): {"DATABASE_URL", "NATS_NKEY_SEED"},
    ("Secret", "identity-secrets"): {"DATABASE_URL", "NATS_NKEY_SEED", "FACTOR_SECRET_KEY"},
    ("Secret", "support-secrets"): {"DATABASE_URL", "NATS_NKEY_SEED", "MAIL_SEAL_PRIVATE_KEY", "SMTP_PASSWORD"},
    ("Secret", "nats-provisioner"): {"NATS_NKEY_SEED"},
    ("Secret", "portal-db-cofor"): {"username", "password"},
    ("Secret", "portal-db-identity"): {"username", "password"},
    ("Secret", "portal-db-support"): {"username", "password"},
    ("ConfigMap", "mail-seal-public-key"): {"MAIL_SEAL_PUBLIC_KEY"},
    ("ConfigMap", "nats-nkeys"): {f"NATS_NKEY_{s}_{slot}" for s in ("COFOR", "IDENTITY", "SUPPORT", "PROVISIONER")
                                  for slot in "AB"},
}

SECRET_KEY = re.compile(
    r"(PASSWORD|PASSWD|TOKEN|SECRET|PRIVATE|CREDENTIAL|APIKEY|API_KEY)S?$|PRIVATE_KEY|^DATABASE_URL$", re.IGNORECASE)
SECRET_VALUE = re.compile(r"://[^/\s:@]+:[^/\s@]+@|sha256=[0-9a-f]{16}|-----BEGIN [A-Z ]*PRIVATE KEY|\bSU[A-Z2-7]{50,}",
                          re.IGNORECASE)  # ... an NKEY seed


def settings_class(name: str) -> type[Any]:  # a pydantic BaseSettings subclass
    if name == "gateway":
        from gateway.settings import GatewaySettings
        return GatewaySettings
    if name == "cofor":
        from cofor.settings import CoforSettings
        return CoforSettings
    if name == "identity":
        from identity.settings import IdentitySettings
        return IdentitySettings
    from support.settings import SupportSettings
    return SupportSettings


def secret_stand_ins(name: str) -> dict[str, str]:
    """Values of the shape production accepts for what Secrets hold (nothing here is a real credential)."""
    from kit.messaging.credentials import new_seed

    if name == "gateway":
        return {"service_token": "t" * 8 + "Qx7-" * 8}
    return {"nats_nkey_seed": new_seed(), "service_credentials": "gateway:public:sha256=" + "5a" * 32,
            "mail_seal_public_key": "stand-in public key", "mail_seal_private_key": "stand-in private key",
            "factor_secret_key": "c3RhbmQtaW4gZmFjdG9yIGtleSwgMzIgYnl0ZXMgISE="}


@parametrize_overlays
def test_settings_are_the_ones_each_process_reads(overlay: str) -> None:
    nats = find(overlay, "StatefulSet", "nats")
    assert nats is not None
    environment = "production" if overlay == "production" else "development"
    for name in [*SERVICES, "gateway"]:
        deployment = find(overlay, "Deployment", name)
        assert deployment is not None
        sources = env_sources(overlay, deployment, main_container(deployment))
        cls = settings_class(name)
        known = {field.upper() for field in cls.model_fields}
        assert set(sources) <= known, f"{name}: variables its settings do not read: {set(sources) - known}"
        for var in SECRET_ENV & set(sources):
            assert sources[var][0] == "secret", f"{name}: {var} must come from a Secret"
        plain = plain_env(overlay, deployment)
        assert plain["ENVIRONMENT"] == environment and plain["LOG_LEVEL"]
        if name == "gateway":
            required = {"GATEWAY_HOST", "GATEWAY_PORT", "SERVICE_TOKEN", "COFOR_TARGET", "IDENTITY_TARGET",
                        "SUPPORT_TARGET", "ENVIRONMENT"}
            assert required <= set(sources), required - set(sources)
            assert plain["GATEWAY_HOST"] == "0.0.0.0" and plain["GATEWAY_PORT"] == str(GATEWAY_PORT)
            for service, port in SERVICES.items():
                host, _, target_port = plain[f"{service.upper()}_TARGET"].partition(":")
                svc = find(overlay, "Service", host)
                assert svc is not None and int(target_port) == port
                assert port in [p["port"] for p in svc["spec"]["ports"]]
        else:
            required = {"DATABASE_URL", "NATS_URL", "SERVICE_CREDENTIALS", "GRPC_HOST", "GRPC_PORT", "METRICS_PORT",
                        "ENVIRONMENT", "LOG_LEVEL", "SHUTDOWN_GRACE_SECONDS", "NATS_NKEY_SEED"}
            if name == "support":
                required |= {"MAIL_SEAL_PRIVATE_KEY", "SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD",
                             "SMTP_STARTTLS", "MAIL_FROM", "SUPPORT_MAILBOX", "PORTAL_PUBLIC_URL"}
            else:
                required |= {"MAIL_SEAL_PUBLIC_KEY"}
                assert "MAIL_SEAL_PRIVATE_KEY" not in sources, f"{name} must never get the mailer's private key"
            assert required <= set(sources), required - set(sources)
            assert plain["GRPC_HOST"] == "0.0.0.0" and plain["METRICS_PORT"] == str(METRICS_PORT)
            for server in plain["NATS_URL"].split(","):
                url = urlsplit(server)
                pod, _, service = url.hostname.partition(".")  # type: ignore[union-attr]
                # Production reaches NATS over TLS only (the services refuse anything else there).
                assert url.scheme == ("tls" if overlay == "production" else "nats"), server
                assert url.port == 4222 and service == nats["spec"]["serviceName"]
                assert re.fullmatch(r"nats-\d+", pod) and int(pod[5:]) < nats["spec"]["replicas"], server
        # The plain values pass the process's own validation (types, ranges), with production's stand-ins for the
        # secrets (which production validates too: it refuses placeholders).
        values = {k.lower(): v for k, v in plain.items()}
        settings = cls(**values, **(secret_stand_ins(name) if overlay == "production" else {}))
        if name != "gateway":
            assert settings.grpc_port == SERVICES[name]


@parametrize_overlays
def test_every_reference_resolves(overlay: str) -> None:
    """ConfigMaps and Secrets named by the pods and the database cluster exist (rendered, or out of band)."""
    wanted: list[tuple[str, str, str | None, str]] = []  # kind, name, key, who
    for workload in pod_owners(overlay):
        who = workload["metadata"]["name"]
        for container in all_containers(workload):
            for source in container.get("envFrom", []):
                wanted.append(("ConfigMap", source["configMapRef"]["name"], None, who))
            for var in container.get("env", []):
                ref = var.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    wanted.append(("Secret", ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"], who))
                if "configMapKeyRef" in ref:
                    wanted.append(("ConfigMap", ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"], who))
        for volume in pod_spec(workload).get("volumes", []):
            if "configMap" in volume:
                wanted.append(("ConfigMap", volume["configMap"]["name"], None, who))
            if "secret" in volume:
                wanted.append(("Secret", volume["secret"]["secretName"], None, who))
    cluster = find(overlay, "Cluster", DB_CLUSTER)
    assert cluster is not None
    wanted.append(("Secret", cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"], "password", DB_CLUSTER))
    for role in cluster["spec"]["managed"]["roles"]:
        wanted.append(("Secret", role["passwordSecret"]["name"], "password", DB_CLUSTER))

    issued = {c["spec"]["secretName"] for c in of_kind(overlay, "Certificate")}  # cert-manager makes them
    for kind, name, key, who in wanted:
        obj = find(overlay, kind, name)
        if obj is None and kind == "Secret" and name in issued:
            continue
        if obj is None:
            assert overlay == "production", f"{who}: {kind} {name} is not rendered in {overlay}"
            assert (kind, name) in OUT_OF_BAND, f"{who}: {kind} {name} is neither rendered nor documented"
            assert key is None or key in OUT_OF_BAND[(kind, name)], f"{who}: {kind} {name} has no key {key}"
        elif key is not None:
            keys = set(obj.get("data", {})) | set(obj.get("stringData", {}))
            assert key in keys, f"{who}: {kind} {name} has no key {key}"


def test_production_generates_no_secret() -> None:
    for secret in of_kind("production", "Secret"):
        assert not secret.get("data") and not secret.get("stringData"), secret["metadata"]["name"]
    assert "secretGenerator" not in (K8S / "overlays" / "production" / "kustomization.yaml").read_text()
    assert not list((K8S / "base").rglob("*secret*")), "the base holds no Secret"
    assert not [o for o in yaml.safe_load_all((K8S / "base" / "kustomization.yaml").read_text()) if o
                and "secretGenerator" in o]
    readme = (DEPLOY / "README.md").read_text()
    for kind, name in OUT_OF_BAND:
        assert name in readme, f"deploy/README.md does not say how to create {kind} {name}"


def test_development_secrets_are_marked_as_such() -> None:
    secrets = of_kind("development", "Secret")
    assert {s["metadata"]["name"] for s in secrets} == {n for k, n in OUT_OF_BAND if k == "Secret"}
    for secret in secrets:
        assert secret["metadata"]["annotations"]["b2b-portal.example/development-only"] == "true"
    # Service credentials hold digests, never tokens.
    for entry in secret_value("development", "service-credentials", "SERVICE_CREDENTIALS").split(","):
        name, roles, token = entry.split(":", 2)
        assert re.fullmatch(r"sha256=[0-9a-f]{64}", token), f"credential {name} is not a sha256 digest"


@parametrize_overlays
def test_configmaps_hold_no_secret(overlay: str) -> None:
    for config in of_kind(overlay, "ConfigMap"):
        for key, value in config.get("data", {}).items():
            assert not SECRET_KEY.search(key), f"ConfigMap {config['metadata']['name']}: {key} looks secret"
            assert not SECRET_VALUE.search(str(value)), f"ConfigMap {config['metadata']['name']}: {key}'s value"
        assert not config.get("binaryData")


@parametrize_overlays
def test_services_route_to_their_pods(overlay: str) -> None:
    for service in of_kind(overlay, "Service"):
        selector = {"matchLabels": service["spec"]["selector"]}
        targets = [w for w in workloads(overlay) if selects(selector, pod_labels(w))]
        assert len(targets) == 1, f"Service {service['metadata']['name']} selects {len(targets)} workloads"
        ports = {p["name"]: p["containerPort"] for c in pod_spec(targets[0])["containers"] for p in c["ports"]}
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert target in ports or target in ports.values(), f"{service['metadata']['name']}: {target}"
