# Developer and CI entry points. Every target wraps a script under tests/ or benchmarks/, so the
# scripts can also be run directly (see docs/testing.md).
#   make setup                   install everything the tests need (idempotent, ~1 min cold, <1 s warm)
#   make test                    everything CI runs, both core lines (tests/ci/env.sh ADE_CORES; CORES="2.16" for one)
#   make sanity CORE=2.21        one step, one core line (CORE defaults to 2.16; any line with tests/ci/requirements-<line>.txt)
# State lives in $(ADE_WORK) (default /tmp/azure_ade): venvs, test hosts, simulator, logs.
SHELL := /bin/bash
CORE ?= 2.16
CORES ?=
ADE_WORK ?= /tmp/azure_ade
export ADE_WORK
VENV := $(ADE_WORK)/venv-$(CORE)
SIM_DIR := $(ADE_WORK)/sim

.PHONY: help setup lint sanity units hosts hosts-down integration-guest simulator simulator-stop simulator-tests \
	integration-azure molecule e2e bench demo ee soak test build clean distclean

help:
	@sed -n 's/^#   //p' Makefile
	@echo "targets: setup lint sanity units hosts hosts-down integration-guest simulator simulator-stop simulator-tests"
	@echo "         integration-azure molecule e2e bench demo ee soak test build clean distclean   (CORE=2.16|2.21)"

setup:
	bash tests/ci/setup.sh

lint: setup
	bash tests/ci/lint.sh

sanity: setup
	bash tests/ci/sanity.sh $(CORE)

units: setup
	bash tests/ci/units.sh $(CORE)

hosts: setup
	bash tests/hosts/up.sh

hosts-down:
	bash tests/hosts/down.sh

integration-guest: setup
	bash tests/integration/guest.sh $(CORE)

# The Azure simulator in the background (HTTPS + test CA + token endpoint); state and log in $(SIM_DIR).
simulator: setup
	bash tests/ci/simulator.sh start $(CORE)

simulator-stop:
	bash tests/ci/simulator.sh stop

# The simulator's own tests (pytest, simulator/tests).
simulator-tests: setup
	bash tests/ci/simulator.sh test $(CORE)

integration-azure: setup
	bash tests/integration/azure.sh $(CORE)

molecule: setup
	bash tests/ci/molecule.sh $(CORE)

e2e: setup
	bash tests/integration/e2e.sh $(CORE)

bench: setup
	bash tests/ci/bench.sh $(CORE)

# The README's "main job": venvs + test hosts + the preflight playbook against them (core 2.16), verdicts per host,
# then the rollout on three guests against the simulator (encrypted, failed+restored, blocked) and the reports.
demo:
	bash tests/ci/demo.sh

# The execution environment: ansible-builder + podman build it from a local base image (cached in $(ADE_WORK)/ee by
# its dependencies), then the encrypt rollout runs inside it through ansible-runner's container mode (as AWX does).
ee: setup
	bash tests/ci/ee.sh

# Soak (not part of `make test`): e2e steps N times in a row per core line, stop at the first failure, runs/passed/
# failed/min/median/max seconds per step and line (tests/ci/soak.sh; docs/testing.md "Soak").
#   make soak N=20 CORES="2.16 2.21" STEPS="migrate-e2e rollout-e2e" [LOCK=/work/coord/hosts.lock]
soak: setup
	SOAK_N="$(N)" SOAK_CORES="$(CORES)" SOAK_STEPS="$(STEPS)" SOAK_LOCK="$(LOCK)" bash tests/ci/soak.sh

test:
	CORES="$(CORES)" bash tests/ci/pipeline.sh

build:
	bash tests/ci/build.sh $(CORE)

clean:
	rm -rf tests/output $(ADE_WORK)/build $(ADE_WORK)/ci-logs
	find . -name __pycache__ -type d -prune -exec rm -rf {} + ; rm -f azure_ade-linux-*.tar.gz

# Also the venvs, interpreters links, downloaded collections (everything setup makes under ADE_WORK).
distclean: clean
	-bash tests/hosts/down.sh 2>/dev/null
	-bash tests/ci/simulator.sh stop 2>/dev/null
	-umount $(ADE_WORK)/ac/ansible_collections/azure_ade/linux 2>/dev/null
	rm -rf $(ADE_WORK)/venv-2.* $(ADE_WORK)/py27env $(ADE_WORK)/pybin $(ADE_WORK)/colls $(ADE_WORK)/dl
