"""The deployment definitions (deploy/) as the tests under tests/deploy/ read them: each kustomize overlay rendered
with ``kubectl kustomize``, and helpers over what it declares (workloads, pods, containers, their variables).

Nothing here needs a cluster; ``kubectl`` (for its built-in kustomize) must be installed: a missing one fails.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("development", "production")

UID = 10001

SERVICES = {"cofor": 50051, "identity": 50052, "support": 50053}
GATEWAY_PORT = 8080
METRICS_PORT = 9090
DB_CLUSTER = "portal-db"


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


def overlays() -> Iterator[Any]:
    for overlay in OVERLAYS:
        yield pytest.param(overlay, id=overlay)


parametrize_overlays = pytest.mark.parametrize("overlay", list(overlays()))
