"""The files in deploy/ agree with Tocsin and with one another.

Every ``tocsin`` command line in Compose, Kubernetes, systemd, the Containerfile and the
README's production section parses with the CLI's own parser; every ``TOCSIN_*`` variable is
one the CLI contract names, with a value it accepts; a role's ``--port`` is the port its
probes, Service, health check and Prometheus job use; stops wait longer than the grace
period; images are pinned; each configuration Tocsin mounts loads as it will inside the
container."""

import contextlib
import io
import re
import shlex
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.unit.deploy_files import (
    COMPOSE,
    CONTRACT_ENV,
    DEFAULT_SHUTDOWN_GRACE,
    DEPLOY,
    KUBERNETES,
    REDIS_SCHEMES,
    ROLE_PORTS,
    ROOT,
    SERVED,
    SYSTEMD,
    Launch,
    all_launches,
    compose,
    compose_launches,
    compose_tocsin_services,
    container_env,
    container_port,
    containerfile,
    containers,
    kubernetes_documents,
    kubernetes_launches,
    kubernetes_pods,
    production_section,
    seconds,
    systemd_launches,
    tocsin_containers,
    unit_entries,
)
from tocsin.cli import _parser
from tocsin.config import load_config

# --- command lines ------------------------------------------------------------------------


def parse_error(argv: tuple[str, ...]) -> str | None:
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            _parser().parse_args(argv)
    except SystemExit:
        return stderr.getvalue().strip().splitlines()[-1]
    return None


@pytest.mark.parametrize("launch", all_launches(), ids=str)
def test_every_command_line_is_one_the_cli_accepts(launch: Launch) -> None:
    error = parse_error(launch.argv)
    assert error is None, f"{launch}: `tocsin {shlex.join(launch.argv)}`: {error}"


@pytest.mark.parametrize("launch", all_launches(), ids=str)
def test_every_served_role_listens_on_all_addresses_at_its_port(launch: Launch) -> None:
    if launch.role not in SERVED:
        pytest.skip(f"`tocsin {launch.role}` serves nothing")
    if launch.where.startswith("README"):
        pytest.skip("the README may show a role on another port")
    assert launch.flag("--host") == "0.0.0.0", f"{launch}: reachable from outside"
    assert launch.flag("--port") == str(ROLE_PORTS[launch.role]), launch


def test_every_role_runs_twice_or_more() -> None:
    compose_roles = {
        s["command"][0]: s["deploy"]["replicas"] for s in compose_tocsin_services().values()
    }
    assert compose_roles == dict.fromkeys(SERVED, 2)
    kubernetes_roles = {
        template["spec"]["containers"][0]["args"][0]: workload["spec"]["replicas"]
        for _, workload, template in kubernetes_pods()
        if workload["metadata"]["name"].startswith("tocsin-")
    }
    assert kubernetes_roles == dict.fromkeys(SERVED, 2)


# --- environment --------------------------------------------------------------------------


def deploy_texts() -> Iterator[tuple[str, str]]:
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and path.suffix != ".png":  # the README's screenshot
            yield str(path.relative_to(ROOT)), path.read_text()
    yield "README.md (Running in production)", production_section()


@pytest.mark.parametrize(
    ("where", "text"), list(deploy_texts()), ids=[w for w, _ in deploy_texts()]
)
def test_every_tocsin_variable_mentioned_is_in_the_contract(where: str, text: str) -> None:
    unknown = set(re.findall(r"\bTOCSIN_[A-Z0-9_]+", text)) - set(CONTRACT_ENV)
    assert not unknown, f"{where}: not in the CLI contract: {sorted(unknown)}"


@pytest.mark.parametrize("launch", all_launches(), ids=str)
def test_every_variable_set_has_a_value_tocsin_accepts(launch: Launch) -> None:
    for name, value in launch.env.items():
        if not name.startswith("TOCSIN_"):
            continue
        assert name in CONTRACT_ENV, f"{launch}: {name} is not in the CLI contract"
        allowed = CONTRACT_ENV[name]
        assert allowed is None or value in allowed, f"{launch}: {name}={value}"
    if "TOCSIN_REDIS_URL" in launch.env and launch.env["TOCSIN_REDIS_URL"] != "<secret>":
        scheme = urlsplit(launch.env["TOCSIN_REDIS_URL"]).scheme
        assert scheme in REDIS_SCHEMES, launch
    grace = launch.env.get("TOCSIN_SHUTDOWN_GRACE", str(DEFAULT_SHUTDOWN_GRACE))
    assert grace.isdigit(), f"{launch}: TOCSIN_SHUTDOWN_GRACE is whole seconds"


def fleet_launches() -> list[Launch]:
    """The launches that set the environment themselves (the image leaves it to them)."""
    return [*compose_launches(), *kubernetes_launches(), *systemd_launches()]


@pytest.mark.parametrize("launch", fleet_launches(), ids=str)
def test_separate_roles_get_the_store_the_config_and_the_signing_key(launch: Launch) -> None:
    assert {"TOCSIN_REDIS_URL", "TOCSIN_CONFIG"} <= set(launch.env), launch
    if launch.role in {"web", "worker"}:
        assert "TOCSIN_SECRET_KEY" in launch.env, f"{launch}: signs or checks ack links"


def test_every_stop_waits_longer_than_the_grace_period() -> None:
    """Longer than the role takes after SIGTERM (plus, in Kubernetes, the preStop wait that
    comes before it), so in-flight work finishes before a SIGKILL."""
    services = compose_tocsin_services()
    for launch in compose_launches():
        name = launch.where.removeprefix("compose service ")
        assert seconds(services[name]["stop_grace_period"]) > launch.grace, launch
    for launch, (where, spec, container) in zip(
        kubernetes_launches(), tocsin_containers(), strict=True
    ):
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {})
        sleep = pre_stop.get("command", ["sleep", "0"])
        assert sleep[0] == "sleep", f"{where}: preStop only waits"
        assert spec["terminationGracePeriodSeconds"] > int(sleep[1]) + launch.grace, where
    for launch in systemd_launches():
        unit = SYSTEMD / launch.where.removeprefix("systemd ")
        stop = {key: value for _, key, value in unit_entries(unit)}
        assert stop["KillSignal"] == "SIGTERM", unit.name
        assert seconds(stop["TimeoutStopSec"]) > launch.grace, unit.name


def test_compose_runs_tocsin_read_only_and_unprivileged() -> None:
    for name, service in compose_tocsin_services().items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name


# --- ports --------------------------------------------------------------------------------


def test_compose_checks_scrapes_and_publishes_the_port_each_role_listens_on() -> None:
    prometheus = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    for launch, (name, service) in zip(
        compose_launches(), compose_tocsin_services().items(), strict=True
    ):
        role, port = launch.role, int(launch.flag("--port") or 0)
        health = service["healthcheck"]["test"][-1]
        assert health == f"http://127.0.0.1:{port}/readyz", f"compose service {name}"
        (discovery,) = jobs[f"tocsin-{role}"]["dns_sd_configs"]
        assert (discovery["names"], discovery["port"]) == ([name], port), f"tocsin-{role}"
        for published in service.get("ports", []):
            assert published.rsplit(":", 1)[1] == str(port), f"compose service {name}"


def test_alertmanager_posts_to_a_web_copy_with_a_token_tocsin_knows() -> None:
    config = yaml.safe_load((COMPOSE / "alertmanager" / "alertmanager.yml").read_text())
    tokens = {
        i.token
        for i in load_config(COMPOSE / "tocsin.yaml").config.integrations
        if i.type == "alertmanager"
    }
    webhooks = [w for r in config["receivers"] for w in r.get("webhook_configs", [])]
    assert webhooks, "a webhook receiver"
    for webhook in webhooks:
        url = urlsplit(webhook["url"])
        assert (url.hostname, url.port) == ("web", ROLE_PORTS["web"]), webhook["url"]
        prefix, token = url.path.rsplit("/", 1)
        assert prefix == "/v1/webhooks/alertmanager", webhook["url"]
        assert token in tokens, f"{webhook['url']}: no alertmanager integration has this token"
        assert webhook["send_resolved"] is True, "resolved alerts resolve incidents"


@pytest.mark.parametrize(
    ("where", "container"), [(w, c) for w, _, c in tocsin_containers()], ids=str
)
def test_kubernetes_probes_and_scrapes_use_the_port_the_role_listens_on(
    where: str, container: dict[str, Any]
) -> None:
    port = int(Launch(where, tuple(container["args"]), {}).flag("--port") or 0)
    assert [p["containerPort"] for p in container["ports"]] == [port], where
    readiness = container["readinessProbe"]["httpGet"]
    liveness = container["livenessProbe"]["httpGet"]
    assert (readiness["path"], container_port(container, readiness["port"])) == ("/readyz", port)
    assert (liveness["path"], container_port(container, liveness["port"])) == ("/healthz", port)


def test_kubernetes_pods_announce_their_metrics_port_and_the_service_targets_it() -> None:
    for where, _, template in kubernetes_pods():
        annotations = template["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/scrape") == "true":
            (container,) = template["spec"]["containers"]
            port = Launch(where, tuple(container["args"]), {}).flag("--port")
            assert annotations["prometheus.io/port"] == port, where
    (service,) = [
        d
        for _, d in kubernetes_documents()
        if d["kind"] == "Service" and d["metadata"]["name"] == "tocsin-web"
    ]
    (target,) = [p["targetPort"] for p in service["spec"]["ports"]]
    (web,) = [launch for launch in kubernetes_launches() if launch.role == "web"]
    assert str(target) == web.flag("--port")


# --- images -------------------------------------------------------------------------------


def images() -> Iterator[tuple[str, str]]:
    for name, service in compose()["services"].items():
        yield f"compose service {name}", service["image"]
    for where, _, container in containers():
        yield where, container["image"]
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    for image in kustomization["images"]:
        yield "kustomization.yaml images", f"{image['newName']}:{image['newTag']}"
    for instruction, argument in containerfile():
        if instruction == "FROM":
            yield "Containerfile FROM", argument


@pytest.mark.parametrize(("where", "image"), list(images()), ids=[w for w, _ in images()])
def test_every_image_is_pinned_to_a_tag(where: str, image: str) -> None:
    name, _, tag = image.rpartition(":")
    assert name, f"{where}: {image} has no tag"
    assert "/" not in tag, f"{where}: {image} has no tag"
    assert tag != "latest", f"{where}: {image} changes under you"


def test_tocsin_images_carry_the_package_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    tocsin = {image for _, image in images() if image.rpartition(":")[0] == "tocsin"}
    assert tocsin == {f"tocsin:{version}"}


# --- the configuration each fleet mounts --------------------------------------------------


@pytest.mark.parametrize("name", sorted(compose_tocsin_services()))
def test_the_compose_configuration_loads_as_mounted(tmp_path: Path, name: str) -> None:
    """Lay out the container's filesystem from the volumes, then load what TOCSIN_CONFIG
    names, so the mounts and the relative schedules_dir are checked together."""
    service = compose_tocsin_services()[name]
    for volume in service["volumes"]:
        source, target, _ = volume.split(":")
        destination = tmp_path / target.lstrip("/")
        if (COMPOSE / source).is_dir():
            shutil.copytree(COMPOSE / source, destination)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(COMPOSE / source, destination)
    loaded = load_config(tmp_path / service["environment"]["TOCSIN_CONFIG"].lstrip("/"))
    assert loaded.schedules, "the schedules are found where schedules_dir points"


@pytest.mark.parametrize(
    ("where", "spec", "container"), tocsin_containers(), ids=[w for w, _, _ in tocsin_containers()]
)
def test_the_kubernetes_configuration_loads_as_mounted(
    tmp_path: Path, where: str, spec: dict[str, Any], container: dict[str, Any]
) -> None:
    config_maps = {
        d["metadata"]["name"]: d["data"]
        for _, d in kubernetes_documents()
        if d["kind"] == "ConfigMap"
    }
    volumes = {v["name"]: v for v in spec["volumes"]}
    for mount in container["volumeMounts"]:
        source = volumes[mount["name"]].get("configMap")
        if source is None:
            continue
        directory = tmp_path / mount["mountPath"].lstrip("/")
        directory.mkdir(parents=True)
        for key, text in config_maps[source["name"]].items():
            (directory / key).write_text(text)
    loaded = load_config(tmp_path / container_env(container)["TOCSIN_CONFIG"].lstrip("/"))
    assert loaded.schedules, where
