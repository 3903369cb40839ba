# One entry point for people and CI. `make run` and `make test` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PROTOS := $(shell find protos -name '*.proto' 2>/dev/null)
SITE := $(VENV)/lib/python3.11/site-packages

.PHONY: all install protos lint-protos breaking migrate run browser oidc-rp image test test-unit test-integration bench hardening clean help

help:
	@echo "make run      - set up and start the whole system (SQLite, bundled NATS, local mail sink)"
	@echo "make test     - set up and run every test (real NATS, SQLite, PostgreSQL, SMTP)"
	@echo "make bench    - performance figures, each beside its target (JSON under var/bench/)"
	@echo "make image    - the container image (podman, or docker), on a Debian-made base where no registry answers"
	@echo "make protos   - generate Python code and typed stubs from protos/ into gen/"
	@echo "make i18n     - bring the translation catalogues up to date; fail on a message missing in a language"
	@echo "make lint-protos / breaking - buf lint (STANDARD) / buf breaking (FILE) against the previous commit"

all: install protos

# The virtual environment, with exact versions from requirements.lock.
$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c requirements.lock -e '.[dev]'
	# gen/ (generated code) and the repository root (testing/, tools/, bench/, hardening/: dev tooling, not installed)
	printf "%s\n" "$(CURDIR)/gen" "$(CURDIR)" > $(SITE)/b2b-portal-gen.pth
	touch $@

install: $(VENV)/.installed

# Generated code: never committed, never written by hand.
gen/.stamp: $(VENV)/.installed $(PROTOS)
	rm -rf gen.new && mkdir -p gen.new
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m grpc_tools.protoc -Iprotos --python_out=gen.new \
	  --grpc_python_out=gen.new --mypy_out=gen.new --mypy_grpc_out=gen.new $(PROTOS)
	find gen.new -type d -exec touch {}/__init__.py \;
	rm -f gen.new/__init__.py
	touch gen.new/.stamp
	# Swapped in whole: a process importing gen/ meanwhile never sees it half written.
	rm -rf gen.old && if [ -d gen ]; then mv gen gen.old; fi && mv gen.new gen && rm -rf gen.old

protos: gen/.stamp

# Translations: one gettext catalogue per service and language, shipped with the service
# (services/gateway/locale, services/support/locale: <lang>/LC_MESSAGES/<domain>.po) and read from the .po at start,
# so there is nothing to compile. This adds the msgids the code and templates use (and drops mail msgids no template
# uses), then fails on any message missing in a language. tests/unit/test_i18n.py runs the same check.
.PHONY: i18n
i18n: install
	$(PY) -m tools.i18n

lint-protos: install
	$(VENV)/bin/buf lint

# Checks the contract against the previous commit (FILE rules). Set BREAKING_AGAINST to compare elsewhere.
BREAKING_AGAINST ?= .git\#ref=HEAD~1
breaking: install
	@if git rev-parse -q --verify HEAD~1 >/dev/null && git ls-tree -r --name-only HEAD~1 | grep -q '^protos/.*\.proto$$'; then \
	  $(VENV)/bin/buf breaking --against '$(BREAKING_AGAINST)'; \
	else echo "buf breaking: no earlier contract to compare with"; fi

migrate: protos
	$(PY) -m tools.devstack migrate

run: protos
	$(PY) -m tools.devstack run

# The browser tests drive Debian's Chromium (Playwright cannot download its own here). Installing it needs root.
browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else echo "make browser: /usr/bin/chromium is missing; run 'make browser' as root (apt-get install -y chromium)" >&2; exit 1; fi
	@test -x /usr/bin/chromium || { echo "make browser: chromium did not install" >&2; exit 1; }

# panva's openid-client (npm, exact versions from its package-lock.json), the relying party nobody here wrote that
# tests/browser/test_openid_client.py runs with node against the provider.
OIDC_RP := tests/oidc_node
oidc-rp: $(OIDC_RP)/node_modules/.installed
$(OIDC_RP)/node_modules/.installed: $(OIDC_RP)/package.json $(OIDC_RP)/package-lock.json
	@command -v node >/dev/null || { echo "make oidc-rp: node (20 or later) is needed" >&2; exit 1; }
	npm ci --prefix $(OIDC_RP) --no-audit --no-fund --loglevel=error
	touch $@

# The container image (deploy/image/Dockerfile) with podman, or docker when its engine runs; cached by the engine.
# As root it installs a missing podman; with no registry reachable it makes the base from Debian's packages once.
image: install
	$(PY) -m tools.image

# Types and lint: ruff over all Python code, mypy (config in pyproject.toml) over MYPY_PATHS.
.PHONY: lint
MYPY_PATHS ?= services tests bench hardening testing tools
lint: protos
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy $(MYPY_PATHS)

test: protos lint lint-protos breaking browser image oidc-rp
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-unit: protos
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

test-integration: protos
	$(PY) -m pytest -q tests/integration $(PYTEST_ARGS)

bench: protos
	$(PY) -m bench $(BENCH_ARGS)

hardening: protos
	$(PY) -m hardening $(HARDENING_ARGS)

clean:
	rm -rf gen $(VENV) .pytest_cache
