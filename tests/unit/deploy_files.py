"""Reading the files in deploy/ the way the fleet uses them: where each starts ``tocsin``
and with what environment, the Kubernetes objects, the units, the Containerfile and the
README's production section. The facts from the CLI contract that the deploy tests check
against live here, each in one place."""

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tocsin.cli import ROLES

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose"
KUBERNETES = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
CONTAINERFILE = DEPLOY / "Containerfile"

CONTRACT_ENV: Mapping[str, frozenset[str] | None] = {
    "TOCSIN_CONFIG": None,
    "TOCSIN_REDIS_URL": None,
    "TOCSIN_SECRET_KEY": None,
    "TOCSIN_PUBLIC_URL": None,
    "TOCSIN_DURABILITY": frozenset({"primary", "replica", "aof", "replica-aof"}),
    "TOCSIN_LOG_FORMAT": frozenset({"text", "json"}),
    "TOCSIN_SHUTDOWN_GRACE": None,
}
"""The environment of the CLI contract, with the values it accepts (None: any). Tocsin
ignores a variable it does not know, so a misspelt one would fail silently in production."""
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix", "redis+sentinel"})
ROLE_PORTS = {"web": 8080, "router": 9101, "worker": 9102}
"""The contract's default port of each served role; every file uses it, so one number per
role holds across Compose, Kubernetes, systemd and the image."""
DEFAULT_SHUTDOWN_GRACE = 20
SERVED = {name for name in ROLES if name != "up"}


@dataclass(frozen=True)
class Launch:
    """One place a deploy file starts ``tocsin``: the arguments after the program name and
    the environment given with them (values taken from a secret show as ``<secret>``)."""

    where: str
    argv: tuple[str, ...]
    env: Mapping[str, str]

    def __str__(self) -> str:
        return self.where

    @property
    def role(self) -> str:
        return self.argv[0]

    def flag(self, name: str) -> str | None:
        argv = list(self.argv)
        return argv[argv.index(name) + 1] if name in argv else None

    @property
    def grace(self) -> int:
        """Seconds the role takes to stop after SIGTERM."""
        return int(self.env.get("TOCSIN_SHUTDOWN_GRACE", DEFAULT_SHUTDOWN_GRACE))


def yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def seconds(text: str | int) -> int:
    """``30``, ``"30"`` or ``"30s"``: what Compose and systemd write for the grace periods
    here (their other units are not used)."""
    match = re.fullmatch(r"(\d+)s?", str(text))
    assert match, f"expected whole seconds, got {text!r}"
    return int(match.group(1))


# --- Compose ------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())
    return document


def compose_tocsin_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service["image"].startswith("tocsin:")
    }


def compose_launches() -> list[Launch]:
    return [
        Launch(f"compose service {name}", tuple(service["command"]), service["environment"])
        for name, service in compose_tocsin_services().items()
    ]


# --- Kubernetes ---------------------------------------------------------------------------


def kubernetes_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for document in yaml_documents(path):
                yield path.name, document


def kubernetes_pods() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, workload, pod template) of every Deployment and StatefulSet."""
    for file, document in kubernetes_documents():
        if document["kind"] in {"Deployment", "StatefulSet"}:
            where = f"{file} {document['kind']} {document['metadata']['name']}"
            yield where, document, document["spec"]["template"]


def containers() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, pod spec, container) of every container the manifests run."""
    for where, _, template in kubernetes_pods():
        spec = template["spec"]
        for container in spec["containers"]:
            yield f"{where} container {container['name']}", spec, container


def tocsin_containers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [c for c in containers() if c[2]["image"].split(":")[0] == "tocsin"]


def container_env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "<secret>") for item in container.get("env", [])}


def kubernetes_launches() -> list[Launch]:
    return [
        Launch(where, tuple(container["args"]), container_env(container))
        for where, _, container in tocsin_containers()
    ]


def container_port(container: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port, by number or by the container port's name."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


# --- systemd, the Containerfile, the README -----------------------------------------------


def unit_entries(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of a unit file, in order; keys may repeat."""
    entries: list[tuple[str, str, str]] = []
    section = ""
    for line in path.read_text().splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            entries.append((section, key, value))
    return entries


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {key: value for key, _, value in pairs if key and not key.startswith("#")}


def systemd_launches() -> list[Launch]:
    """The instance of each unit is the port; it is given the role's port here."""
    env = env_file(SYSTEMD / "env.example")
    launches = []
    for unit in sorted(SYSTEMD.glob("*.service")):
        (exec_start,) = [v for _, k, v in unit_entries(unit) if k == "ExecStart"]
        program, *argv = shlex.split(exec_start)
        assert Path(program).name == "tocsin", f"{unit.name}: ExecStart runs {program}"
        role_port = str(ROLE_PORTS[argv[0]])
        argv = [role_port if arg == "%i" else arg for arg in argv]
        launches.append(Launch(f"systemd {unit.name}", tuple(argv), env))
    return launches


def containerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text())
    rows = (line.split(None, 1) for line in text.splitlines() if line.strip())
    return [(row[0].upper(), row[1]) for row in rows if not row[0].startswith("#")]


def containerfile_launch() -> Launch:
    instructions = dict(containerfile())
    entrypoint = yaml.safe_load(instructions["ENTRYPOINT"])
    assert entrypoint == ["tocsin"]
    return Launch("Containerfile CMD", tuple(yaml.safe_load(instructions["CMD"])), {})


def production_section() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Running in production\n", 1)[1]
    return section.split("\n## ", 1)[0]


def readme_launches() -> list[Launch]:
    blocks = re.findall(r"```sh\n(.*?)```", production_section(), re.DOTALL)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [
        Launch(f"README: {line.strip()}", tuple(shlex.split(line, comments=True)[1:]), {})
        for line in lines
        if line.startswith("tocsin ")
    ]


def all_launches() -> list[Launch]:
    return [
        *compose_launches(),
        *kubernetes_launches(),
        *systemd_launches(),
        containerfile_launch(),
        *readme_launches(),
    ]


def secret_template() -> dict[str, dict[str, str]]:
    return {
        d["metadata"]["name"]: d["stringData"]
        for d in yaml_documents(KUBERNETES / "secret.template.yaml")
    }


def valkey_directives(name: str) -> dict[str, list[str]]:
    """Directive -> arguments; ``sentinel`` directives keyed by their first two words."""
    directives: dict[str, list[str]] = {}
    for line in (DEPLOY / "valkey" / name).read_text().splitlines():
        words = shlex.split(line, comments=True)
        if words:
            split = 2 if words[0] == "sentinel" else 1
            directives[" ".join(words[:split])] = words[split:]
    return directives
