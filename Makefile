# `make up` runs the demo, `make test` the whole suite; both set up what they need on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Dependencies come from the lock (requirements/dev.txt: every version pinned with its hashes), the project itself
# from the checkout; a changed pyproject.toml or lock reinstalls.
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements/dev.txt | sha1sum | cut -c1-12)
# Debian packages the suite drives for real: Chromium (browser journeys), espeak-ng (spoken calls), Noto fonts,
# SANE with its `test` backend and what python-sane builds with; PostgreSQL 15 for the cloud tests' throwaway cluster
# (Debian puts initdb and pg_ctl in /usr/lib/postgresql/15/bin, where the tests look for them).
# mmdebstrap, systemd-container, zstd and nftables: the provisioning test boots Debian 12 containers and converges them
# with the playbook under ansible/, then loads the appliance's firewall into a network namespace of its own.
APT_PACKAGES := chromium espeak-ng fonts-noto-core libsane1 libsane-dev sane-utils gcc python3-dev postgresql \
                mmdebstrap systemd-container zstd nftables

.PHONY: up test soak bench system-deps clean

$(STAMP): pyproject.toml requirements/dev.txt
	@$(MAKE) --no-print-directory system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	rm -f $(VENV)/.installed-* && touch $@

# Installs what is missing, as root or through sudo; Python itself too, where the machine has no usable venv.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q ' ok installed' || missing="$$missing $$p"; done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3 python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "missing Debian packages:$$missing (run 'make system-deps' as root, or install sudo)" >&2; exit 1; fi; \
	  echo "installing Debian packages:$$missing"; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

up: $(STAMP)
	$(BIN)/pst up

test: $(STAMP)
	@$(MAKE) --no-print-directory system-deps
	$(BIN)/python -m pytest -q --durations=15

# The fault and fuzz campaigns at full size (thousands of cases each); `make test` runs the same tests reduced.
soak: $(STAMP)
	@$(MAKE) --no-print-directory system-deps
	PST_SOAK=1 $(BIN)/python -m pytest -q -s -m soak

# Every benchmark, then one table of their figures beside their baselines and goals, and the machine (bench.summary,
# from test-artifacts/bench-summary.jsonl); a benchmark that fails does not stop the others, make fails after the table.
bench: $(STAMP)
	@summary=$(CURDIR)/test-artifacts/bench-summary.jsonl; failed=""; \
	mkdir -p test-artifacts && rm -f "$$summary"; \
	for run in press_to_print tickets_http guestbook_submit appliance_footprint display_fanout scan_watermark \
	           portal_watermark portal_load sync sync_fleet sync_health restore "fleet_page --engine both" \
	           "oai_harvest --engine both" sitemap; do \
	  echo "$(BIN)/python -m bench.$$run"; \
	  PST_BENCH_SUMMARY="$$summary" $(BIN)/python -m bench.$$run || failed="$$failed bench.$$run"; \
	done; \
	echo; $(BIN)/python -m bench.summary "$$summary" || failed="$$failed bench.summary"; \
	if [ -n "$$failed" ]; then echo "failed:$$failed" >&2; exit 1; fi

clean:
	rm -rf $(VENV) var .pytest_cache
