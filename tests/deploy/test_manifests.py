"""deploy/ renders what it should: each overlay's objects, every built-in one valid against the Kubernetes schemas,
the CloudNativePG cluster and databases checked by hand, and the image's Dockerfile (tests/deploy/manifests.py
renders them)."""
from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

import kubernetes_validate
from kubernetes_validate.utils import SchemaNotFoundError

from .manifests import (
    DB_CLUSTER,
    DEPLOY,
    OVERLAYS,
    SERVICES,
    UID,
    find,
    is_builtin,
    of_kind,
    parametrize_overlays,
    pod_spec,
    rendered,
    secret_value,
)

KUBERNETES_VERSION = "1.30"  # the oldest minor release the manifests target (native gRPC probes are GA since 1.27)
NAMESPACE = "b2b-portal"

KINDS = {
    "Namespace", "ServiceAccount", "Service", "ConfigMap", "Secret", "Deployment", "StatefulSet", "Job",
    "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "Cluster", "Database", "Issuer", "Certificate",
}
CRDS = {("postgresql.cnpg.io/v1", "Cluster"), ("postgresql.cnpg.io/v1", "Database"), ("cert-manager.io/v1", "Issuer"),
        ("cert-manager.io/v1", "Certificate")}  # cert-manager's are checked in test_nats_manifests.py


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
