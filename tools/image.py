"""`make image`: the project's container image (deploy/image/Dockerfile), built with podman, or with docker when its
engine runs. Idempotent and cached: the engine's layer cache makes a rebuild of unchanged sources take seconds.

The base is ``PYTHON_IMAGE`` when set; else python:3.11-slim when it is present or can be pulled; else, where no
registry can be reached (this project's CI machines), a base made once from Debian's own packages: debootstrap's
minimal bookworm imported as an image, then bookworm's python3.11 on it (deploy/image/debian-python.Dockerfile).
As root, a missing podman (with runc and debootstrap) is installed from Debian's packages.

    python -m tools.image            build; print the image's name, build time and size
    python -m tools.image --name     print the image's name only
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE_DIR = ROOT / "deploy" / "image"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE = f"localhost/b2b-portal:{VERSION}"
REGISTRY_BASE = "docker.io/library/python:3.11-slim"
DEBIAN_ROOTFS = "localhost/b2b-portal-debian-minbase:bookworm"
DEBIAN_BASE = "localhost/b2b-portal-debian-python:3.11-bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
PODMAN_PACKAGES = ["podman", "runc", "debootstrap"]


class ImageError(RuntimeError):
    """Why the image cannot be built here, in one line for the operator."""


@dataclass(frozen=True)
class Engine:
    """podman or docker, with the project's podman settings (deploy/image/containers.conf)."""

    program: str

    @property
    def environment(self) -> dict[str, str]:
        if self.program != "podman" or "CONTAINERS_CONF" in os.environ:
            return dict(os.environ)
        return {**os.environ, "CONTAINERS_CONF": str(IMAGE_DIR / "containers.conf")}

    def run(self, *args: str, check: bool = True, timeout: float = 1800, input: bytes | None = None,
            quiet: bool = True) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run([self.program, *args], env=self.environment, timeout=timeout, input=input,
                              capture_output=quiet)
        if check and done.returncode != 0:
            detail = (done.stderr or b"").decode(errors="replace").strip()[-2000:]
            raise ImageError(f"{self.program} {' '.join(args[:2])} failed ({done.returncode}): {detail}")
        return done

    def has_image(self, name: str) -> bool:
        return self.run("image", "inspect", name, check=False).returncode == 0

    def size(self, name: str) -> int:
        return int(self.run("image", "inspect", "--format", "{{.Size}}", name).stdout.decode().strip())


def engine() -> Engine:
    """podman if installed; docker if its engine answers; else podman, installed when we are root."""
    if shutil.which("podman"):
        return Engine("podman")
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "info"], capture_output=True, timeout=60).returncode == 0:
        return Engine("docker")
    if os.geteuid() != 0:
        raise ImageError("no podman and no running docker engine; as root, `make image` installs podman "
                         f"(apt-get install {' '.join(PODMAN_PACKAGES)})")
    _apt_install(PODMAN_PACKAGES)
    return Engine("podman")


def _apt_install(packages: list[str]) -> None:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True,
                   env=environment, timeout=1200)


def base(tool: Engine) -> str:
    """The image the Dockerfile builds on (its PYTHON_IMAGE argument)."""
    if chosen := os.environ.get("PYTHON_IMAGE"):
        return chosen
    if tool.has_image(REGISTRY_BASE) or tool.run("pull", "-q", REGISTRY_BASE, check=False, timeout=300).returncode == 0:
        return REGISTRY_BASE
    if not tool.has_image(DEBIAN_BASE):
        if not tool.has_image(DEBIAN_ROOTFS):
            _import_debian_rootfs(tool)
        print(f"image: no registry reachable; building {DEBIAN_BASE} from Debian's packages", flush=True)
        tool.run("build", "--network=host", "-f", str(IMAGE_DIR / "debian-python.Dockerfile"),
                 "--build-arg", f"DEBIAN_ROOTFS={DEBIAN_ROOTFS}", "-t", DEBIAN_BASE, str(IMAGE_DIR))
    return DEBIAN_BASE


def _import_debian_rootfs(tool: Engine) -> None:
    """debootstrap's minimal bookworm (Debian's mirror only), imported as an image: needs root."""
    if os.geteuid() != 0:
        raise ImageError("no base image: no registry is reachable, and making one from Debian's packages "
                         "(debootstrap) needs root; or set PYTHON_IMAGE to a python:3.11 image you have")
    if not shutil.which("debootstrap"):
        _apt_install(["debootstrap"])
    print(f"image: debootstrap bookworm (minbase) from {DEBIAN_MIRROR}", flush=True)
    with tempfile.TemporaryDirectory(prefix="rootfs-") as folder:
        rootfs = Path(folder) / "rootfs"
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), DEBIAN_MIRROR], check=True,
                       capture_output=True, timeout=1800)
        for leftover in (rootfs / "var" / "cache" / "apt" / "archives").glob("*.deb"):
            leftover.unlink()
        archive = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], check=True, capture_output=True).stdout
        tool.run("import", "-", DEBIAN_ROOTFS, input=archive)


def build(*, announce: bool = True) -> str:
    """Build (or find in the cache) the project's image; returns its name."""
    tool = engine()
    started = time.monotonic()
    python_image = base(tool)
    ignore = ["--ignorefile", str(IMAGE_DIR / "Dockerfile.dockerignore")] if tool.program == "podman" else []
    with tempfile.NamedTemporaryFile(prefix="pip-ca-") as no_bundle:
        bundle = _ca_bundle() or no_bundle.name  # an empty secret: pip keeps its own trust
        tool.run("build", "--network=host", *ignore, "--secret", f"id=pip-ca,src={bundle}",
                 "-f", str(IMAGE_DIR / "Dockerfile"), "--build-arg", f"PYTHON_IMAGE={python_image}", "-t", IMAGE,
                 str(ROOT), quiet=not announce)
    if announce:
        print(f"image: {IMAGE} on {python_image}, built in {time.monotonic() - started:.0f} s, "
              f"{tool.size(IMAGE) / 2**20:.0f} MiB ({tool.program})", flush=True)
    return IMAGE


def _ca_bundle() -> str | None:
    """The CA bundle this machine's pip trusts, when it is told one (a TLS-inspecting proxy's, say)."""
    for variable in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        if (path := os.environ.get(variable)) and Path(path).is_file():
            return path
    return None


def main(argv: list[str]) -> int:
    if argv == ["--name"]:
        print(IMAGE)
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        build()
    except (ImageError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"make image: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
