"""The deployment definitions (deploy/): each kustomize overlay is rendered with ``kubectl kustomize`` and what it
declares is checked — Kubernetes schemas, pod hardening, probes, disruption budgets and autoscalers, NetworkPolicies,
settings against the services' own settings classes, Secrets and ConfigMaps, and the image's Dockerfile.

Nothing here needs a cluster; ``kubectl`` (for its built-in kustomize) must be installed: a missing one fails.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("development", "production")
KUBERNETES_VERSION = "1.30"  # the oldest minor release the manifests target (native gRPC probes are GA since 1.27)
NAMESPACE = "b2b-portal"
UID = 10001

SERVICES = {"cofor": 50051, "identity": 50052, "support": 50053}
GATEWAY_PORT = 8080
METRICS_PORT = 9090
DB_CLUSTER = "portal-db"
DB_POD_LABELS = {"cnpg.io/cluster": DB_CLUSTER}  # what CloudNativePG puts on the instance pods
SERVICE_PEER = ("pods", (("app.kubernetes.io/component", "service"),))
GATEWAY_PEER = ("pods", (("app.kubernetes.io/name", "gateway"),))
NATS_PEER = ("pods", (("app.kubernetes.io/name", "nats"),))
PROVISION_PEER = ("pods", (("app.kubernetes.io/name", "nats-provision"),))  # the Job that makes the streams
DB_PEER = ("pods", (("cnpg.io/cluster", DB_CLUSTER),))
MONITORING_PEER = ("namespace", "monitoring")
ANYWHERE = ("any",)
INGRESS_PEER = ("namespace", "ingress-nginx")  # the Ingress controller's namespace (deploy/README.md)

# Variables that are secrets: they must come from a Secret (secretKeyRef), never from a value or a ConfigMap.
SECRET_ENV = {"DATABASE_URL", "SERVICE_CREDENTIALS", "SERVICE_TOKEN", "SMTP_PASSWORD", "MAIL_SEAL_PRIVATE_KEY",
              "NATS_NKEY_SEED"}
# What production expects to exist before the first apply (created out of band): kind, name -> keys.
OUT_OF_BAND = {
    ("Secret", "service-credentials"): {"SERVICE_CREDENTIALS"},
    ("Secret", "gateway-secrets"): {"SERVICE_TOKEN"},
    ("Secret", "cofor-secrets"): {"DATABASE_URL", "NATS_NKEY_SEED"},
    ("Secret", "identity-secrets"): {"DATABASE_URL", "NATS_NKEY_SEED"},
    ("Secret", "support-secrets"): {"DATABASE_URL", "NATS_NKEY_SEED", "MAIL_SEAL_PRIVATE_KEY", "SMTP_PASSWORD"},
    ("Secret", "nats-provisioner"): {"NATS_NKEY_SEED"},
    ("Secret", "portal-db-cofor"): {"username", "password"},
    ("Secret", "portal-db-identity"): {"username", "password"},
    ("Secret", "portal-db-support"): {"username", "password"},
    ("ConfigMap", "mail-seal-public-key"): {"MAIL_SEAL_PUBLIC_KEY"},
    ("ConfigMap", "nats-nkeys"): {f"NATS_NKEY_{s}_{slot}" for s in ("COFOR", "IDENTITY", "SUPPORT", "PROVISIONER")
                                  for slot in "AB"},
}
KINDS = {
    "Namespace", "ServiceAccount", "Service", "ConfigMap", "Secret", "Deployment", "StatefulSet", "Job",
    "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "Cluster", "Database", "Issuer", "Certificate",
}
CRDS = {("postgresql.cnpg.io/v1", "Cluster"), ("postgresql.cnpg.io/v1", "Database"), ("cert-manager.io/v1", "Issuer"),
        ("cert-manager.io/v1", "Certificate")}  # cert-manager's are checked in test_nats_manifests.py
SECRET_KEY = re.compile(
    r"(PASSWORD|PASSWD|TOKEN|SECRET|PRIVATE|CREDENTIAL|APIKEY|API_KEY)S?$|PRIVATE_KEY|^DATABASE_URL$", re.IGNORECASE)
SECRET_VALUE = re.compile(r"://[^/\s:@]+:[^/\s@]+@|sha256=[0-9a-f]{16}|-----BEGIN [A-Z ]*PRIVATE KEY|\bSU[A-Z2-7]{50,}",
                          re.IGNORECASE)  # ... an NKEY seed


# ---------------------------------------------------------------------------------------------------------------
# Rendering and helpers
# ---------------------------------------------------------------------------------------------------------------

def kubectl() -> str:
    found = shutil.which("kubectl") or "/usr/bin/kubectl"
    if not os.access(found, os.X_OK):
        pytest.fail("kubectl is needed to render the kustomize overlays (install it: it is not optional)")
    return found


@functools.cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run([kubectl(), "kustomize", str(K8S / "overlays" / overlay)], capture_output=True,
                            text=True, timeout=60, check=False)
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {overlay} failed:\n{result.stderr}")
    docs = tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)
    assert docs, f"{overlay} renders nothing"
    return docs


def of_kind(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [o for o in rendered(overlay) if o["kind"] == kind]


def find(overlay: str, kind: str, name: str) -> dict[str, Any] | None:
    return next((o for o in of_kind(overlay, kind) if o["metadata"]["name"] == name), None)


def workloads(overlay: str) -> list[dict[str, Any]]:
    return of_kind(overlay, "Deployment") + of_kind(overlay, "StatefulSet")


def pod_owners(overlay: str) -> list[dict[str, Any]]:
    """Everything that runs pods: the workloads and the Jobs (nats-provision)."""
    return workloads(overlay) + of_kind(overlay, "Job")


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"].get("labels", {})


def all_containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def main_container(workload: dict[str, Any]) -> dict[str, Any]:
    return pod_spec(workload)["containers"][0]


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions)."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def is_builtin(api_version: str) -> bool:
    group = api_version.split("/")[0] if "/" in api_version else ""
    return group == "" or "." not in group or group.endswith(".k8s.io")


def env_sources(overlay: str, workload: dict[str, Any], container: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Every variable a container gets: name -> (source, value or reference)."""
    found: dict[str, tuple[str, Any]] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        config = find(overlay, "ConfigMap", ref)
        assert config is not None, f"{workload['metadata']['name']}: envFrom ConfigMap {ref} is not rendered"
        for key, value in config.get("data", {}).items():
            found[key] = ("configmap", value)
    for var in container.get("env", []):
        if "value" in var:
            found[var["name"]] = ("value", var["value"])
        elif "secretKeyRef" in var.get("valueFrom", {}):
            found[var["name"]] = ("secret", var["valueFrom"]["secretKeyRef"])
        elif "configMapKeyRef" in var.get("valueFrom", {}):
            found[var["name"]] = ("configmapkey", var["valueFrom"]["configMapKeyRef"])
        else:
            found[var["name"]] = ("field", var.get("valueFrom"))
    return found


def plain_env(overlay: str, workload: dict[str, Any]) -> dict[str, str]:
    """The plain (non-secret) values of the main container."""
    return {k: v for k, (src, v) in env_sources(overlay, workload, main_container(workload)).items()
            if src in ("configmap", "value")}


def secret_value(overlay: str, name: str, key: str) -> str:
    import base64

    secret = find(overlay, "Secret", name)
    assert secret is not None, f"Secret {name} is not rendered in {overlay}"
    if key in secret.get("stringData", {}):
        return str(secret["stringData"][key])
    return base64.b64decode(secret["data"][key]).decode()


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
            "mail_seal_public_key": "stand-in public key", "mail_seal_private_key": "stand-in private key"}


def overlays() -> Iterator[Any]:
    for overlay in OVERLAYS:
        yield pytest.param(overlay, id=overlay)


parametrize_overlays = pytest.mark.parametrize("overlay", list(overlays()))


# ---------------------------------------------------------------------------------------------------------------
# Rendering, schemas, custom resources
# ---------------------------------------------------------------------------------------------------------------

@parametrize_overlays
def test_overlay_renders_expected_objects(overlay: str) -> None:
    docs = rendered(overlay)
    kinds = {o["kind"] for o in docs}
    assert kinds <= KINDS, f"unexpected kinds: {kinds - KINDS}"
    names = Counter((o["kind"], o["metadata"]["name"]) for o in docs)
    assert not [k for k, n in names.items() if n > 1], "duplicate objects"
    for obj in docs:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == NAMESPACE, f"{obj['kind']}/{obj['metadata']['name']}"
    namespace = find(overlay, "Namespace", NAMESPACE)
    assert namespace is not None
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for name in [*SERVICES, "gateway"]:
        for kind in ("Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            assert find(overlay, kind, name) is not None, f"{kind}/{name} missing in {overlay}"
    assert find(overlay, "StatefulSet", "nats") is not None
    assert find(overlay, "Cluster", DB_CLUSTER) is not None


@parametrize_overlays
def test_builtin_objects_match_the_kubernetes_schemas(overlay: str) -> None:
    problems = []
    for obj in rendered(overlay):
        if not is_builtin(obj["apiVersion"]):
            assert (obj["apiVersion"], obj["kind"]) in CRDS, f"unchecked custom resource {obj['kind']}"
            continue
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{where}: {'.'.join(str(p) for p in error.path)}: {error.message}")
        except SchemaNotFoundError as error:
            problems.append(f"{where}: {error.message}")
    assert not problems, "\n".join(problems)


CLUSTER_SPEC_KEYS = {
    "instances", "imageName", "primaryUpdateStrategy", "enableSuperuserAccess", "postgresql", "bootstrap", "managed",
    "storage", "walStorage", "resources", "affinity", "backup", "monitoring",
}
DATABASE_SPEC_KEYS = {"cluster", "name", "owner", "ensure", "databaseReclaimPolicy"}


@parametrize_overlays
def test_cloudnativepg_cluster_and_databases(overlay: str) -> None:
    cluster = find(overlay, "Cluster", DB_CLUSTER)
    assert cluster is not None and cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert set(spec) <= CLUSTER_SPEC_KEYS, f"fields not checked here: {set(spec) - CLUSTER_SPEC_KEYS}"
    assert isinstance(spec["instances"], int) and spec["instances"] >= 1
    if overlay == "production":
        assert spec["instances"] == 3
        assert spec["affinity"]["podAntiAffinityType"] == "required"
    assert spec["affinity"]["enablePodAntiAffinity"] is True
    assert spec["affinity"]["topologyKey"] == "kubernetes.io/hostname"
    assert spec["affinity"]["podAntiAffinityType"] in ("preferred", "required")
    image = spec["imageName"]
    assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")
    assert spec["enableSuperuserAccess"] is False
    assert spec["primaryUpdateStrategy"] in ("unsupervised", "supervised")
    assert re.fullmatch(r"\d+[GM]i", spec["storage"]["size"]) and re.fullmatch(r"\d+[GM]i", spec["walStorage"]["size"])
    assert all(isinstance(v, str) for v in spec["postgresql"]["parameters"].values()), "parameters are strings"
    assert set(spec["resources"]) == {"requests", "limits"}

    initdb = spec["bootstrap"]["initdb"]
    databases = {initdb["database"]: (initdb["owner"], initdb["secret"]["name"])}
    roles = {role["name"]: role for role in spec["managed"]["roles"]}
    for role in roles.values():
        assert set(role) <= {"name", "ensure", "login", "passwordSecret"}
        assert role["ensure"] == "present" and role["login"] is True
    for db in of_kind(overlay, "Database"):
        assert db["apiVersion"] == "postgresql.cnpg.io/v1"
        assert set(db["spec"]) <= DATABASE_SPEC_KEYS, set(db["spec"]) - DATABASE_SPEC_KEYS
        assert db["spec"]["cluster"]["name"] == DB_CLUSTER
        assert db["spec"]["ensure"] == "present" and db["spec"]["databaseReclaimPolicy"] == "retain"
        owner = db["spec"]["owner"]
        assert owner in roles, f"database {db['spec']['name']}: owner {owner} is not a managed role"
        databases[db["spec"]["name"]] = (owner, roles[owner]["passwordSecret"]["name"])
    # One database per service, owned by its own role, whose password is a basic-auth Secret.
    assert databases == {name: (name, f"portal-db-{name}") for name in SERVICES}

    if overlay == "development":
        for name, (owner, secret_name) in databases.items():
            secret = find(overlay, "Secret", secret_name)
            assert secret is not None and secret["type"] == "kubernetes.io/basic-auth"
            assert secret_value(overlay, secret_name, "username") == owner
            url = urlsplit(secret_value(overlay, f"{name}-secrets", "DATABASE_URL"))
            assert url.scheme == "postgresql+asyncpg"
            assert url.hostname == f"{DB_CLUSTER}-rw" and url.port == 5432 and url.path == f"/{name}"
            assert url.username == owner
            assert url.password == secret_value(overlay, secret_name, "password"), f"{name}: passwords differ"


# ---------------------------------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------------------------------

def pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in ("", "latest")


@parametrize_overlays
def test_workloads_are_hardened_and_sized(overlay: str) -> None:
    problems = []
    for workload in pod_owners(overlay):
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        spec = pod_spec(workload)
        pod_security = spec.get("securityContext", {})
        if not (pod_security.get("runAsNonRoot") is True and pod_security.get("runAsUser") == UID
                and pod_security.get("fsGroup") == UID
                and pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault"):
            problems.append(f"{name}: pod securityContext {pod_security}")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: the pod mounts a service account token")
        account = find(overlay, "ServiceAccount", spec.get("serviceAccountName", ""))
        if account is None or account.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: needs its own ServiceAccount with automountServiceAccountToken: false")
        if spec.get("enableServiceLinks") is not False:
            problems.append(f"{name}: enableServiceLinks must be false (GATEWAY_PORT=tcp://... collisions)")
        tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in all_containers(workload):
            where = f"{name} container {container['name']}"
            security = container.get("securityContext", {})
            if not (security.get("allowPrivilegeEscalation") is False and security.get("readOnlyRootFilesystem") is True
                    and security.get("capabilities", {}).get("drop") == ["ALL"]
                    and not security.get("capabilities", {}).get("add") and not security.get("privileged")):
                problems.append(f"{where}: securityContext {security}")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                if set(resources.get(part, {})) < {"cpu", "memory"}:
                    problems.append(f"{where}: resources.{part} needs cpu and memory, got {resources.get(part)}")
            if not pinned(container["image"]):
                problems.append(f"{where}: image {container['image']} is not pinned by tag or digest")
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            if mounts.get("/tmp") not in tmp_volumes:
                problems.append(f"{where}: needs an emptyDir at /tmp (read-only root filesystem)")
    assert not problems, "\n".join(problems)


@parametrize_overlays
def test_shutdown_grace_fits_in_the_termination_period(overlay: str) -> None:
    for name in SERVICES:
        deployment = find(overlay, "Deployment", name)
        assert deployment is not None
        grace = float(plain_env(overlay, deployment)["SHUTDOWN_GRACE_SECONDS"])
        pre_stop = main_container(deployment)["lifecycle"]["preStop"]["exec"]["command"]
        pause = float(pre_stop[1]) if pre_stop[0] == "sleep" else 0.0
        # gRPC drain + background tasks (each up to the grace) + NATS drain (5 s) after the preStop pause.
        assert pod_spec(deployment)["terminationGracePeriodSeconds"] > pause + 2 * grace + 5
    for name in ("gateway", "nats"):
        workload = find(overlay, "Deployment", name) or find(overlay, "StatefulSet", name)
        assert workload is not None and pod_spec(workload)["terminationGracePeriodSeconds"] >= 30


@parametrize_overlays
def test_probes(overlay: str) -> None:
    for name, port in SERVICES.items():
        deployment = find(overlay, "Deployment", name)
        assert deployment is not None
        container = main_container(deployment)
        assert {"name": "grpc", "containerPort": port, "protocol": "TCP"} in container["ports"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"] == {"port": port}, f"{name}: {probe} must be a native gRPC probe"
        assert plain_env(overlay, deployment)["GRPC_PORT"] == str(port)
    gateway = main_container(find(overlay, "Deployment", "gateway"))  # type: ignore[arg-type]
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"name": "http", "containerPort": GATEWAY_PORT, "protocol": "TCP"} in gateway["ports"]
    nats = main_container(find(overlay, "StatefulSet", "nats"))  # type: ignore[arg-type]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert nats[probe]["httpGet"]["port"] == "monitor" and nats[probe]["httpGet"]["path"].startswith("/healthz")
    # Every main container of every workload has all three probes.
    for workload in workloads(overlay):
        for container in pod_spec(workload)["containers"]:
            missing = {"startupProbe", "readinessProbe", "livenessProbe"} - set(container)
            assert not missing, f"{workload['metadata']['name']}/{container['name']}: no {missing}"


@parametrize_overlays
def test_every_workload_has_a_disruption_budget_and_deployments_an_autoscaler(overlay: str) -> None:
    budgets = of_kind(overlay, "PodDisruptionBudget")
    autoscalers = of_kind(overlay, "HorizontalPodAutoscaler")
    for workload in workloads(overlay):
        name, kind = workload["metadata"]["name"], workload["kind"]
        labels = pod_labels(workload)
        assert selects(workload["spec"]["selector"], labels), f"{name}: selector does not match its own pods"
        covering = [b for b in budgets if selects(b["spec"]["selector"], labels)]
        assert len(covering) == 1, f"{kind}/{name}: {len(covering)} PodDisruptionBudgets"
        if kind == "Deployment":
            assert covering[0]["spec"].get("minAvailable") == 1
            scalers = [h for h in autoscalers if h["spec"]["scaleTargetRef"] == {
                "apiVersion": "apps/v1", "kind": "Deployment", "name": name}]
            assert len(scalers) == 1, f"{name}: {len(scalers)} HorizontalPodAutoscalers"
            hpa = scalers[0]
            assert hpa["apiVersion"] == "autoscaling/v2"
            assert [m["resource"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"] == ["cpu"]
            assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
            if overlay == "production":
                assert workload["spec"]["replicas"] >= 2, name
                assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10), name
                assert workload["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
            else:
                assert workload["spec"]["replicas"] == 1, name
        else:
            assert covering[0]["spec"].get("maxUnavailable") == 1
    nats = find(overlay, "StatefulSet", "nats")
    assert nats is not None and nats["spec"]["replicas"] == 3
    assert nats["spec"]["serviceName"] == "nats-headless" and nats["spec"]["volumeClaimTemplates"]


@parametrize_overlays
def test_migrations_run_in_an_init_container_of_each_service(overlay: str) -> None:
    for name in SERVICES:
        deployment = find(overlay, "Deployment", name)
        assert deployment is not None
        init = pod_spec(deployment).get("initContainers", [])
        assert [c["args"] for c in init] == [[name, "migrate"]]
        assert init[0]["image"] == main_container(deployment)["image"]
        assert main_container(deployment)["args"] == [name]
        sources = env_sources(overlay, deployment, init[0])
        assert sources["DATABASE_URL"][0] == "secret"
    gateway = find(overlay, "Deployment", "gateway")
    assert gateway is not None and not pod_spec(gateway).get("initContainers")
    assert main_container(gateway)["args"] == ["gateway"]


# ---------------------------------------------------------------------------------------------------------------
# Settings, Secrets, ConfigMaps, references
# ---------------------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------------------
# NetworkPolicies
# ---------------------------------------------------------------------------------------------------------------

def peer_of(peer: dict[str, Any]) -> tuple[Any, ...]:
    if "ipBlock" in peer:
        return ANYWHERE if peer["ipBlock"]["cidr"] in ("0.0.0.0/0", "::/0") else ("cidr", peer["ipBlock"]["cidr"])
    if "namespaceSelector" in peer:
        labels = peer["namespaceSelector"].get("matchLabels", {})
        if not labels and not peer["namespaceSelector"].get("matchExpressions"):
            return ANYWHERE  # every namespace
        assert "podSelector" not in peer and list(labels) == ["kubernetes.io/metadata.name"], peer
        return ("namespace", labels["kubernetes.io/metadata.name"])
    selector = peer["podSelector"]
    assert not selector.get("matchExpressions"), peer
    return ("pods", tuple(sorted(selector.get("matchLabels", {}).items())))


def admitted(overlay: str, labels: dict[str, str]) -> dict[int | str, set[tuple[Any, ...]]]:
    """Port -> the peers every NetworkPolicy selecting pods with ``labels`` lets in ("*" = every port)."""
    found: dict[int | str, set[tuple[Any, ...]]] = {}
    for policy in of_kind(overlay, "NetworkPolicy"):
        if not selects(policy["spec"]["podSelector"], labels):  # an empty selector selects every pod
            continue
        for rule in policy["spec"].get("ingress", []):
            peers = {peer_of(p) for p in rule.get("from", [])} or {ANYWHERE}
            for port in [p["port"] for p in rule.get("ports", [])] or ["*"]:
                found.setdefault(port, set()).update(peers)
    return found


@parametrize_overlays
def test_network_policies(overlay: str) -> None:
    policies = of_kind(overlay, "NetworkPolicy")
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"]
            and not p["spec"].get("ingress")]
    assert len(deny) == 1, "one default-deny ingress policy for the whole namespace"
    for policy in policies:
        assert policy["spec"]["policyTypes"] == ["Ingress"], policy["metadata"]["name"]

    # The labels the policies rely on mean what they say.
    services = [w["metadata"]["name"] for w in workloads(overlay)
                if pod_labels(w).get("app.kubernetes.io/component") == "service"]
    assert sorted(services) == sorted(SERVICES)
    assert [w["metadata"]["name"] for w in workloads(overlay)
            if pod_labels(w).get("app.kubernetes.io/name") == "gateway"] == ["gateway"]

    # Only the gateway admits traffic from any source, and only on its HTTP port.
    open_policies = {p["metadata"]["name"] for p in policies for rule in p["spec"].get("ingress", [])
                     if not rule.get("from") or ANYWHERE in {peer_of(x) for x in rule["from"]}}
    gateway_pods = pod_labels(find(overlay, "Deployment", "gateway"))  # type: ignore[arg-type]
    if overlay == "production":
        # Only the Ingress controller reaches the gateway: the X-Forwarded-For entry it adds is the one trusted
        # (TRUSTED_PROXIES=1), so no visitor chooses the address the rate limits count (review finding 9).
        assert open_policies == set()
        assert admitted(overlay, gateway_pods) == {GATEWAY_PORT: {INGRESS_PEER}}
        assert plain_env(overlay, find(overlay, "Deployment", "gateway"))["TRUSTED_PROXIES"] == "1"  # type: ignore[arg-type]
    else:
        assert open_policies == {"gateway-ingress"}
        assert admitted(overlay, gateway_pods) == {GATEWAY_PORT: {ANYWHERE}}

    for name, port in SERVICES.items():
        labels = pod_labels(find(overlay, "Deployment", name))  # type: ignore[arg-type]
        assert admitted(overlay, labels) == {port: {GATEWAY_PEER, SERVICE_PEER}, METRICS_PORT: {MONITORING_PEER}}

    nats_pods = pod_labels(find(overlay, "StatefulSet", "nats"))  # type: ignore[arg-type]
    assert admitted(overlay, nats_pods) == {4222: {SERVICE_PEER, PROVISION_PEER}, 6222: {NATS_PEER},
                                            8222: {MONITORING_PEER}}

    database = admitted(overlay, DB_POD_LABELS)
    assert database[5432] == {SERVICE_PEER, DB_PEER}, "PostgreSQL: the services, and replication between instances"
    assert database == {5432: {SERVICE_PEER, DB_PEER}, 8000: {("namespace", "cnpg-system")},
                        9187: {MONITORING_PEER}}
    # Pods that no policy names (none today) would be covered by the default deny.
    assert admitted(overlay, {"app.kubernetes.io/name": "something-else"}) == {}


# ---------------------------------------------------------------------------------------------------------------
# The image
# ---------------------------------------------------------------------------------------------------------------

def test_dockerfile_final_stage() -> None:
    text = (DEPLOY / "image" / "Dockerfile").read_text()
    lines = [line.strip() for line in re.sub(r"\\\n", " ", text).splitlines() if line.strip()
             and not line.strip().startswith("#")]
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in lines
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) == 2 and lines[stages[0]].endswith(" AS builder") and lines[stages[1]].endswith(" AS runtime")
    final = lines[stages[1]:]
    assert f"USER {UID}:{UID}" in final
    assert 'ENTRYPOINT ["python", "-m"]' in final
    env = " ".join(line for line in final if line.startswith("ENV "))
    assert "PYTHONUNBUFFERED=1" in env and "PYTHONPATH=/app/services:/app/gen" in env
    assert not [line for line in final if line.startswith("RUN ") and ("apt-get" in line or "pip " in line)]
    builder = " ".join(lines[stages[0]:stages[1]])
    assert "-c requirements.lock" in builder and "grpc_tools.protoc" in builder and "pip install -e" not in builder
    # Every pod runs as the image's user.
    for overlay in OVERLAYS:
        for name in [*SERVICES, "gateway"]:
            deployment = find(overlay, "Deployment", name)
            assert deployment is not None and pod_spec(deployment)["securityContext"]["runAsUser"] == UID
