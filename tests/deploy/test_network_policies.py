"""deploy/'s NetworkPolicies: each pod admits exactly the peers it needs, on the ports it serves
(tests/deploy/manifests.py renders the overlays)."""
from __future__ import annotations

from typing import Any

from .manifests import (
    DB_CLUSTER,
    GATEWAY_PORT,
    METRICS_PORT,
    SERVICES,
    find,
    of_kind,
    parametrize_overlays,
    plain_env,
    pod_labels,
    selects,
    workloads,
)

DB_POD_LABELS = {"cnpg.io/cluster": DB_CLUSTER}  # what CloudNativePG puts on the instance pods
SERVICE_PEER = ("pods", (("app.kubernetes.io/component", "service"),))
GATEWAY_PEER = ("pods", (("app.kubernetes.io/name", "gateway"),))
NATS_PEER = ("pods", (("app.kubernetes.io/name", "nats"),))
PROVISION_PEER = ("pods", (("app.kubernetes.io/name", "nats-provision"),))  # the Job that makes the streams
DB_PEER = ("pods", (("cnpg.io/cluster", DB_CLUSTER),))
MONITORING_PEER = ("namespace", "monitoring")
ANYWHERE = ("any",)
INGRESS_PEER = ("namespace", "ingress-nginx")  # the Ingress controller's namespace (deploy/README.md)


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
