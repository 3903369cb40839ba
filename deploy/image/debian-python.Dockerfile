# The base `make image` builds on where no container registry can be reached: Debian bookworm's own python3.11 on a
# minimal root file system that debootstrap made from Debian's package mirror (tools/image.py imports it as
# DEBIAN_ROOTFS). It gives what the Dockerfile expects of python:3.11-slim: `python` on the PATH, venv, CA
# certificates and the time-zone database, and nothing else (no compiler, no pip outside the venvs made on it).
ARG DEBIAN_ROOTFS=localhost/b2b-portal-debian-minbase:bookworm
FROM ${DEBIAN_ROOTFS}

ENV LANG=C.UTF-8

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3.11 python3.11-venv python-is-python3 ca-certificates tzdata \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log

CMD ["python"]
