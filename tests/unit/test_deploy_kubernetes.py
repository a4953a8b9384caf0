"""The Kubernetes manifests: complete, locked down, and consistent with the Valkey and
Sentinel configuration they run."""

from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.unit.deploy_files import (
    DEPLOY,
    KUBERNETES,
    containers,
    kubernetes_documents,
    kubernetes_pods,
    secret_template,
    valkey_directives,
)


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    manifests = {p.name for p in KUBERNETES.glob("*.yaml")}
    assert set(kustomization["resources"]) == manifests - {
        "kustomization.yaml",
        "secret.template.yaml",  # applied by hand once; listed, it would reset the secrets
    }


def test_every_workload_has_a_disruption_budget_that_keeps_one_pod_and_lets_one_go() -> None:
    """A voluntary eviction (a node drain) never takes the last copy, and never waits
    forever either."""
    budgets = [d for _, d in kubernetes_documents() if d["kind"] == "PodDisruptionBudget"]
    for where, workload, template in kubernetes_pods():
        (budget,) = [
            b["spec"]
            for b in budgets
            if b["spec"]["selector"]["matchLabels"].items()
            <= template["metadata"]["labels"].items()
        ]
        replicas = workload["spec"]["replicas"]
        kept = budget.get("minAvailable", replicas - budget.get("maxUnavailable", 0))
        assert 1 <= kept < replicas, where


@pytest.mark.parametrize(
    ("where", "spec", "container"), list(containers()), ids=[w for w, _, _ in containers()]
)
def test_every_container_is_locked_down_and_bounded(
    where: str, spec: dict[str, Any], container: dict[str, Any]
) -> None:
    """What the namespace's `restricted` Pod Security level demands, and a read-only root."""
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True, where
    assert pod["runAsUser"] != 0, where
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
    assert spec["automountServiceAccountToken"] is False, where
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False, where
    assert security["readOnlyRootFilesystem"] is True, where
    assert security["capabilities"] == {"drop": ["ALL"]}, where
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"]), where
    assert "memory" in resources["limits"], where


def test_every_secret_reference_is_in_the_template() -> None:
    secrets = secret_template()
    for where, _, container in containers():
        for item in container.get("env", []):
            reference = item.get("valueFrom", {}).get("secretKeyRef")
            if reference:
                assert reference["key"] in secrets.get(reference["name"], {}), where


def valkey_statefulset() -> dict[str, Any]:
    (statefulset,) = [w for _, w, _ in kubernetes_pods() if w["kind"] == "StatefulSet"]
    return statefulset


def valkey_service() -> dict[str, Any]:
    (service,) = [
        d
        for _, d in kubernetes_documents()
        if d["kind"] == "Service"
        and d["metadata"]["name"] == valkey_statefulset()["spec"]["serviceName"]
    ]
    return service


def test_the_redis_url_names_the_sentinels_of_the_statefulset() -> None:
    statefulset = valkey_statefulset()
    name, service = statefulset["metadata"]["name"], statefulset["spec"]["serviceName"]
    pods = [f"{name}-{i}.{service}" for i in range(statefulset["spec"]["replicas"])]
    sentinel = valkey_directives("sentinel.conf")
    url = urlsplit(secret_template()["tocsin"]["redis-url"])
    ports = {p["name"]: p["port"] for p in valkey_service()["spec"]["ports"]}
    assert ports == {
        "valkey": int(valkey_directives("valkey.conf")["port"][0]),
        "sentinel": int(sentinel["port"][0]),
    }
    assert url.scheme == "redis+sentinel"
    hosts = url.netloc.rpartition("@")[2].split(",")
    assert hosts == [f"{pod}:{sentinel['port'][0]}" for pod in pods]
    assert url.path.split("/")[1] == sentinel["sentinel monitor"][0]
    assert "sentinel_password=" in url.query, "the Sentinels require the password too"
    monitored = sentinel["sentinel monitor"][1]
    assert monitored == pods[0], "the first primary is the StatefulSet's first pod"


def test_the_valkey_configmap_holds_the_files_in_deploy_valkey() -> None:
    (config,) = [
        d["data"]
        for _, d in kubernetes_documents()
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "valkey-config"
    ]
    for name in ["valkey.conf", "sentinel.conf"]:
        assert config[name] == (DEPLOY / "valkey" / name).read_text(), (
            f"kubernetes/valkey.yaml's {name} differs from deploy/valkey/{name}: copy it over"
        )
