"""deploy/'s workloads: pod hardening and sizing, shutdown grace, probes, disruption budgets and autoscalers, and the
migrations in an init container (tests/deploy/manifests.py renders the overlays)."""
from __future__ import annotations

from .manifests import (
    GATEWAY_PORT,
    SERVICES,
    UID,
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
    selects,
    workloads,
)


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
