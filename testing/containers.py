"""The project's image run as containers for the container tests: the security settings of deploy/k8s/base (a
numeric non-root user, a read-only root file system with a small /tmp, no capabilities, no privilege escalation),
the host's network (the services, NATS and PostgreSQL listen on loopback ports), an environment file per
container (secrets never on a command line), and the exit code and stop time of a SIGTERM."""
from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

from tools.image import Engine

RUN_AS = "10001:10001"  # deploy/k8s/base: runAsUser / runAsGroup
HARDENED = ["--network=host", "--read-only", "--tmpfs", "/tmp:rw,size=64m,mode=1777", "--cap-drop=ALL",
            "--security-opt=no-new-privileges", "--user", RUN_AS]


def env_file_values(path: Path) -> dict[str, str]:
    """A ConfigMap's env file (deploy/k8s/base/config/*.env): KEY=value lines, comments and blanks skipped."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


class Container:
    """One container of ``image``: ``args`` after the entry point (``python -m``), ``mounts`` read-only."""

    def __init__(self, engine: Engine, image: str, args: list[str], environment: dict[str, str], *,
                 mounts: dict[Path, str] | None = None, name: str = "") -> None:
        self.engine = engine
        self.image = image
        self.args = args
        self.environment = environment
        self.mounts = mounts or {}
        self.name = f"portal-{name or args[0].replace('.', '-')}-{uuid.uuid4().hex[:6]}"

    def _options(self, env_file: str) -> list[str]:
        volumes = [f"--volume={host}:{inside}:ro" for host, inside in self.mounts.items()]
        return [*HARDENED, *volumes, f"--env-file={env_file}", "--name", self.name]

    def _with_env_file(self, *command: str, detach: bool, timeout: float) -> str:
        with tempfile.NamedTemporaryFile("w", prefix="env-", suffix=".list") as env_file:
            os.chmod(env_file.name, 0o600)
            env_file.write("".join(f"{k}={v}\n" for k, v in self.environment.items()))
            env_file.flush()
            flags = ["-d"] if detach else ["--rm"]
            done = self.engine.run("run", *flags, *self._options(env_file.name), self.image, *command,
                                   check=False, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} in a container failed ({done.returncode}):\n"
                                 f"{(done.stdout + done.stderr).decode(errors='replace')[-3000:]}")
        return done.stdout.decode(errors="replace")

    def run_once(self, timeout: float = 300) -> str:
        """Run to completion (a migration, the NATS provisioning); its output. Fails on a non-zero exit."""
        return self._with_env_file(*self.args, detach=False, timeout=timeout)

    def start(self) -> Container:
        self._with_env_file(*self.args, detach=True, timeout=120)
        return self

    def logs(self) -> str:
        done = self.engine.run("logs", self.name, check=False)
        return (done.stdout + done.stderr).decode(errors="replace")

    @property
    def running(self) -> bool:
        state = self.engine.run("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return state.stdout.decode().strip() == "true"

    def stop(self, grace_seconds: int) -> tuple[int, float]:
        """SIGTERM, then SIGKILL after ``grace_seconds`` (Kubernetes' terminationGracePeriodSeconds): the exit code
        and how long the container took to exit."""
        started = time.monotonic()
        self.engine.run("stop", "--time", str(grace_seconds), self.name, timeout=grace_seconds + 60)
        took = time.monotonic() - started
        code = self.engine.run("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout.decode().strip()
        return int(code), took

    def remove(self) -> None:
        self.engine.run("rm", "--force", "--time", "0", self.name, check=False)

    def execute(self, *command: str, user: str = RUN_AS) -> str:
        """A command inside the running container."""
        done = self.engine.run("exec", "--user", user, self.name, *command, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed: {done.stderr.decode(errors='replace')[-2000:]}")
        return done.stdout.decode(errors="replace")
