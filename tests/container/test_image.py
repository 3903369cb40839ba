"""The image an operator deploys: small and clean, migrated and run as deploy/k8s/base runs it, a supplier onboarded
through the gateway container to its first ASL login with the mails at the sink, the probes answering as the
manifests expect, and every container drained by SIGTERM (exit 0 within the grace period). Tests run in file order:
the drain comes last."""
from __future__ import annotations

import json
import re
import tomllib
from importlib.metadata import requires
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from testing.containers import HARDENED, env_file_values
from testing.fleet import STUBS, query
from tests.container.conftest import CONFIG, GRACE_SECONDS, Deployment
from tests.e2e.journeys import new_user, onboarded_company

from tools.image import Engine

ROOT = Path(__file__).resolve().parents[2]
LIST_DISTRIBUTIONS = ("import importlib.metadata as m, json; "
                      "print(json.dumps(sorted({d.metadata['Name'] for d in m.distributions()})))")


def runtime_distributions() -> set[str]:
    """pyproject's [project] dependencies and everything they require (their requested extras included), as
    installed in this venv: what the image must hold, and nothing more."""
    wanted = [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    found: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()  # a package asked for with other extras brings more
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        found.add(name)
        for text in requires(requirement.name) or []:
            needed = Requirement(text)
            extras = requirement.extras or {""}
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras):
                wanted.append(needed)
    return found


def in_image(tool: Engine, image: str, *command: str, user: str = "10001:10001") -> str:
    done = tool.run("run", "--rm", "--network=none", "--read-only", "--user", user, "--entrypoint", command[0],
                    image, *command[1:], check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


def test_the_image_holds_the_runtime_and_nothing_else(image: tuple[Engine, str],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    tool, name = image
    installed = {canonicalize_name(n) for n in json.loads(in_image(tool, name, "python", "-c", LIST_DISTRIBUTIONS))}
    expected = runtime_distributions()
    assert installed == expected, (f"not runtime dependencies: {sorted(installed - expected)}; "
                                   f"missing: {sorted(expected - installed)}")
    tools = in_image(tool, name, "sh", "-c", "for t in gcc cc g++ make pip pip3 git apt-get; do command -v $t; done; "
                     "true")
    assert tools.split() == ["/usr/bin/apt-get"] or not tools.split(), f"build tools in the image: {tools}"
    assert in_image(tool, name, "ls", "/app").split() == ["gen", "services"]
    for dev_only in ("testing", "tools", "tests", "bench", "hardening", "pytest", "playwright", "grpc_tools"):
        probe = f"import importlib.util as u; print(u.find_spec({dev_only!r}) is None)"
        assert in_image(tool, name, "python", "-c", probe).strip() == "True", f"{dev_only} importable in the image"
    # Nothing belongs to the run-time user: code and libraries stay read-only to the process even if remounted.
    owned = in_image(tool, name, "find", "/", "-xdev", "-user", "10001", "-not", "-path", "/tmp/*", user="0:0")
    assert owned.strip() == "", owned
    assert in_image(tool, name, "id", "-u").strip() == "10001"
    # The build machine's CA bundle (the "pip-ca" build secret) is in no layer and no setting.
    assert in_image(tool, name, "find", "/", "-xdev", "-name", "pip-ca*", user="0:0").strip() == ""
    config = tool.run("image", "inspect", "--format", "{{json .Config.Env}}", name).stdout.decode()
    history = tool.run("history", "--no-trunc", "--format", "{{.CreatedBy}}", name).stdout.decode()
    assert "PIP_CERT" not in config and "BEGIN CERTIFICATE" not in history
    with capsys.disabled():
        print(f"\n    image {name}: {tool.size(name) / 2**20:.0f} MiB")


def test_a_service_without_its_secrets_refuses_to_start_in_one_line_per_problem(image: tuple[Engine, str]) -> None:
    """An operator who forgot the Secret: the ConfigMap alone (production) exits 2 naming each missing setting."""
    tool, name = image
    config_map = {**env_file_values(CONFIG / "identity.env"), "DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1:1/x"}
    done = tool.run("run", "--rm", *HARDENED, *[f"--env={k}={v}" for k, v in config_map.items()], name, "identity",
                    check=False)
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 2, output
    assert "NATS_NKEY_SEED" in output and "SERVICE_CREDENTIALS" in output and "MAIL_SEAL_PUBLIC_KEY" in output
    assert "Traceback" not in output


async def test_probes_answer_as_the_manifests_expect(deployment: Deployment) -> None:
    web = deployment.stack.web
    assert (await web.get("/healthz")).status_code == 200
    assert (await web.get("/readyz")).status_code == 200
    async with httpx.AsyncClient() as plain:
        for service in STUBS:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{deployment.ports[service]}") as channel:
                health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
                assert health.status == health_pb2.HealthCheckResponse.SERVING
            metrics = await plain.get(f"http://127.0.0.1:{deployment.ports[f'{service}-metrics']}/metrics")
            assert metrics.status_code == 200 and "python_info" in metrics.text, metrics.text[:300]
    for container in deployment.containers.values():
        assert container.running
        assert container.execute("id", "-u").strip() == "10001"
        written = container.engine.run("exec", container.name, "touch", "/app/written", check=False)
        assert written.returncode != 0, "the root file system is writable"


async def test_a_supplier_is_onboarded_through_the_containers(deployment: Deployment) -> None:
    stack = deployment.stack
    root, asl = await onboarded_company(stack)  # presented, referenced, requested, accepted, ASL's first login
    session = await asl.browser.get("/api/v1/session")
    assert session.status_code == 200 and asl.identifier in session.text, session.text
    identifier, _, _ = await new_user(stack, asl.browser, root, "lucie")
    assert re.fullmatch(r"V\d{6}", identifier)
    rows = await query(deployment.databases["identity"],
                       "SELECT count(*) FROM accounts WHERE cofor_root = :root", root=root)
    assert rows[0][0] == 2
    mails = [m for m in stack.sink.received if asl.email in m.rcpt_tos]
    assert mails, "the ASL's mails never reached the sink"


async def test_sigterm_drains_every_container(deployment: Deployment) -> None:
    # The gateway first, as a rolling update would take it out of the Service before its backends.
    for name in ("gateway", *STUBS):
        container = deployment.containers[name]
        code, took = container.stop(GRACE_SECONDS)
        assert code == 0 and took < GRACE_SECONDS, (
            f"{name} exited {code} after {took:.1f} s; its log ends:\n{container.logs()[-2000:]}")
