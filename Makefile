# Build and test plumbing of the tmi.postgresql collection.
# `make help` lists the targets. Every target that needs Python runs `setup`
# first, so a fresh Debian 12 machine needs nothing but this checkout.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_BIN := $(VENV)/bin
# The venv's tools come first for every recipe, and for the ansible-playbook
# runs that the test suites start.
export PATH := $(CURDIR)/$(VENV_BIN):$(PATH)
# A copy of the requirements.txt last installed: pip runs again only when
# requirements.txt differs from it.
REQUIREMENTS_STAMP := $(VENV)/.requirements-installed.txt
# ansible.cfg's collections_path points at this folder; the link in it makes
# the checkout importable as tmi.postgresql.
# A target interpreter with psycopg 3 only: the integration tests run the
# modules with it as well as with the main venv (psycopg2).
PSYCOPG3_TARGET := $(VENV)/targets/psycopg3
PSYCOPG3_STAMP := $(PSYCOPG3_TARGET)/.requirements-installed.txt
COLLECTIONS_DIR := $(VENV)/collections
COLLECTION_LINK := $(COLLECTIONS_DIR)/ansible_collections/tmi/postgresql

# The PostgreSQL major version the test suites start: Debian 12's own.
# scripts/integration-container.sh sets the release's own (13 on Debian 11, 17
# on Debian 13) when `make integration-versions` runs the suite there.
TEST_PG_VERSION ?= 15

# Debian packages the tests need: the PostgreSQL server the test suites
# start (and Debian's cluster tools; libjson-perl for `pg_lsclusters --json`,
# which Debian 11's postgresql-common does not pull in), git (ansible-test lists files with it),
# shellcheck (ansible-test sanity skips shell scripts without it), venv,
# cron (its crontab command, for the backup role's test), pgbackrest and
# python3-psycopg2 (tests/integration/test_dr_pitr.py: pgBackRest, and modules
# run as postgres with the system Python, which can read no venv under /root),
# sudo (the local inventory's become method: Ansible pipelines through it),
# prometheus for its promtool (`make rules`; the server is not started:
# scripts/ensure-debian-packages.sh lets no service start while it installs),
# procps (pgrep; a minimal Debian, such as make integration-versions'
# containers, lacks it).
DEBIAN_PACKAGES := postgresql-$(TEST_PG_VERSION) postgresql-client-$(TEST_PG_VERSION) postgresql-common libjson-perl \
	git make shellcheck python3-venv cron pgbackrest python3-psycopg2 sudo \
	prometheus procps

PYTEST := $(VENV_BIN)/pytest -p no:cacheprovider
# Extra pytest arguments, e.g. `make integration PYTEST_ARGS='-n auto -k lock'`.
PYTEST_ARGS ?=
# The integration tests spend much of their time waiting (ansible-playbook
# start-up, WAL archiving): two workers halve the wall time on 2 cores.
INTEGRATION_WORKERS ?= 2

# The suites `make test` runs after setup.
TEST_CHECKS := lint sanity changelog-lint rules unit integration
TEST_SUITES := $(TEST_CHECKS) molecule

# The Prometheus alert rules the collection ships and their promtool unit tests.
PROMTOOL ?= promtool
RULE_FILES := $(wildcard files/prometheus/*.rules.yml)
RULE_TESTS := $(wildcard tests/prometheus/*.test.yml)

INVENTORY ?= inventory/local.yml
PLAYBOOK ?= site.yml

.PHONY: help setup system-packages venv target-venvs collection-link \
	test lint sanity changelog-lint rules unit integration molecule molecule-lane versions integration-versions dr-drill drill-repo drill-ha ha-trixie upgrade-drill upgrade-logical-drill redis-drill site clean

help: ## Show this list of targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  make %-16s %s\n", $$1, $$2}'

setup: system-packages venv target-venvs collection-link ## Install Debian packages, .venv and the collection link (idempotent).

system-packages: ## Install the missing Debian packages the tests need.
	@scripts/ensure-debian-packages.sh $(DEBIAN_PACKAGES)

venv: ## Create .venv and install requirements.txt when it changed.
	@test -x $(VENV_BIN)/python || $(PYTHON) -m venv $(VENV)
	@if ! cmp -s requirements.txt $(REQUIREMENTS_STAMP); then \
		$(VENV_BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt; \
		cp requirements.txt $(REQUIREMENTS_STAMP); \
	fi

target-venvs: venv ## Create the psycopg 3 target interpreter the integration tests use.
	@test -x $(PSYCOPG3_TARGET)/bin/python || $(PYTHON) -m venv $(PSYCOPG3_TARGET)
	@if ! cmp -s requirements-target-psycopg3.txt $(PSYCOPG3_STAMP); then \
		$(PSYCOPG3_TARGET)/bin/python -m pip install --disable-pip-version-check -q -r requirements-target-psycopg3.txt; \
		cp requirements-target-psycopg3.txt $(PSYCOPG3_STAMP); \
	fi

collection-link: ## Link the checkout as tmi.postgresql under .venv/collections.
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn "$(CURDIR)" $(COLLECTION_LINK)

# Two lanes at once (scripts/test-lanes.sh says why): the checks and the
# integration suite in one, the Molecule scenarios in the other. The
# disaster-recovery drill molecule/dr (15 minutes of a loaded machine, its
# flows also covered by the integration suite's test_dr_*) is `make dr-drill`:
# with it, make test took 57 minutes on a 2-core machine (ci49).
TEST_MOLECULE_AFTER_CHECKS :=
TEST_LANES := checks:"$(TEST_CHECKS) $(TEST_MOLECULE_AFTER_CHECKS:%=molecule-%)" molecule:"molecule-lane"

test: setup ## Run every test suite, in two lanes at once: checks then integration; Molecule.
	@MAKE="$(MAKE)" scripts/test-lanes.sh $(TEST_LANES)
	@echo "make test: all suites passed: $(TEST_SUITES)"

lint: setup ## ansible-lint, profile production.
	$(VENV_BIN)/ansible-lint --profile production

sanity: setup ## ansible-test sanity, offline, on a copy laid out as ansible_collections/tmi/postgresql.
	VENV="$(CURDIR)/$(VENV)" scripts/sanity.sh

changelog-lint: setup ## Check the changelog fragments.
	$(VENV_BIN)/antsibull-changelog lint

rules: system-packages ## promtool: check the alert rules (files/prometheus) and run their unit tests (tests/prometheus).
	$(PROMTOOL) check rules $(RULE_FILES)
	$(PROMTOOL) test rules $(RULE_TESTS)

# pytest exits 5 when it collects no test: not a failure while a suite is empty.
unit: setup ## Unit tests (tests/unit).
	$(PYTEST) $(PYTEST_ARGS) tests/unit || test $$? -eq 5

integration: setup ## Integration tests against a throwaway PostgreSQL (tests/integration).
	$(PYTEST) -n $(INTEGRATION_WORKERS) $(PYTEST_ARGS) tests/integration || test $$? -eq 5

# The Docker engine is installed and started when `docker info` fails, and the
# images are built locally when missing: Debian 12's plain and systemd ones,
# and Debian 13's plain one for molecule/default's first container
# (MOLECULE_IMAGE and MOLECULE_SYSTEMD_IMAGE name others). Scenarios: default
# (two containers: Debian 13 / PostgreSQL 17 with no init system,
# pg_ctlcluster; Debian 12 / PostgreSQL 15 with systemd) and ha (etcd,
# Patroni on two members and the proxy on three systemd containers);
# `make molecule MOLECULE_ARGS='-s default'` runs one. Left out here, each
# with its own target: molecule/versions (`make versions`), molecule/upgrade
# (`make upgrade-drill`), molecule/upgrade_logical (`make
# upgrade-logical-drill`), molecule/redis (`make redis-drill`: the redis
# role's development scenario; CI runs its tests on molecule/default),
# molecule/dr (`make dr-drill`) and molecule/repo (`make drill-repo`: a
# database host and a pgBackRest repository host; the integration suite
# runs the repository-host flows against local pgBackRest servers). CI took
# 57 to 80 minutes on 2 cores with dr and repo in it.
MOLECULE_EXCLUDED := versions upgrade upgrade_logical redis dr repo
MOLECULE_ARGS ?= --all $(addprefix --exclude ,$(MOLECULE_EXCLUDED))
molecule: setup ## Molecule on Docker: create, converge site.yml, idempotence, verify, destroy.
	@docker info >/dev/null 2>&1 || scripts/docker-engine.sh
	@scripts/molecule-image.sh plain
	@MOLECULE_DEBIAN_SUITE=trixie scripts/molecule-image.sh plain
	@scripts/molecule-image.sh systemd
	NO_COLOR=1 $(VENV_BIN)/molecule test $(MOLECULE_ARGS)

# make test's Molecule lane: every scenario `make molecule` runs but those the
# checks lane runs after the integration suite.
molecule-lane: setup
	$(MAKE) molecule MOLECULE_ARGS="--all $(addprefix --exclude ,$(MOLECULE_EXCLUDED) $(TEST_MOLECULE_AFTER_CHECKS))"

# The redis role's development scenario (issue 15): site.yml with Redis on one
# systemd container and one without systemd, idempotence, tests/test_redis.py
# (12 minutes measured on a loaded 2-core machine).
redis-drill: setup ## Molecule redis: the redis role's development scenario (site.yml with Redis, idempotence, verify).
	$(MAKE) molecule MOLECULE_ARGS="-s redis"

# One scenario, e.g. `make molecule-repo`.
molecule-%: setup
	$(MAKE) molecule MOLECULE_ARGS="-s $*"

# The version matrix of issue 14: molecule/versions (site.yml on one systemd
# container with the platform's own PostgreSQL, idempotence, molecule/default's
# tests but Prometheus') on Debian 11 (PostgreSQL 13), then Debian 13
# (PostgreSQL 17); their images are built when missing (about 2 minutes
# each). A release that fails does not stop the next one; the target fails
# at the end, naming it. Debian 12 is molecule/default's. About 10 (Debian
# 13) to 20 minutes (Debian 11, most of it apt downloads) a release; `make
# test` leaves it out. `make versions VERSION_SUITES=trixie` runs one.
VERSION_SUITES ?= bullseye trixie
versions: setup ## Molecule versions: site.yml, idempotence and verify on Debian 11 (PostgreSQL 13) and 13 (17), one after the other.
	@docker info >/dev/null 2>&1 || scripts/docker-engine.sh
	@failed=; for suite in $(VERSION_SUITES); do \
		image=$$(MOLECULE_DEBIAN_SUITE=$$suite MOLECULE_SYSTEMD_IMAGE= scripts/molecule-image.sh systemd --print) \
			|| exit 1; \
		echo "make versions: $$suite on $$image"; \
		MOLECULE_DEBIAN_SUITE=$$suite MOLECULE_SYSTEMD_IMAGE=$$image NO_COLOR=1 $(VENV_BIN)/molecule test -s versions \
			|| failed="$$failed $$suite"; \
	done; \
	if [ -n "$$failed" ]; then echo "make versions: failed on$$failed" >&2; exit 1; fi

# The integration suite against Debian 11's PostgreSQL 13 and Debian 13's 17
# (issue 14): scripts/integration-container.sh runs `make setup` and `make
# integration` in a throwaway container of each release of VERSION_SUITES
# (the same suites as `make versions`; bookworm is this machine's 15), one
# after the other, each logged to $(INTEGRATION_LOG_DIR)/SUITE.log. A release
# that fails does not stop the next one; the summary lines come at the end
# and the target fails naming the failed releases. `make test` leaves it out.
INTEGRATION_LOG_DIR ?= $(CURDIR)/build/integration-versions
integration-versions: ## The integration suite in a container of Debian 11 (PostgreSQL 13), then 13 (17): VERSION_SUITES=trixie runs one.
	@docker info >/dev/null 2>&1 || scripts/docker-engine.sh
	@failed=; for suite in $(VERSION_SUITES); do \
		INTEGRATION_LOG_DIR="$(INTEGRATION_LOG_DIR)" PYTEST_ARGS="$(PYTEST_ARGS)" \
			INTEGRATION_WORKERS="$(INTEGRATION_WORKERS)" scripts/integration-container.sh "$$suite" \
			|| failed="$$failed $$suite"; \
	done; \
	echo "make integration-versions:"; \
	for suite in $(VERSION_SUITES); do \
		cat "$(INTEGRATION_LOG_DIR)/$$suite.summary" 2>/dev/null || echo "$$suite: no summary (see $(INTEGRATION_LOG_DIR)/$$suite.log)"; \
	done; \
	if [ -n "$$failed" ]; then echo "make integration-versions: failed on$$failed" >&2; exit 1; fi

# The disaster-recovery drill (issues 4 and 9): molecule/dr, site.yml on a
# primary, backups while TMI writes, the data directory destroyed, PITR to
# the end and to an earlier time, a logical restore, a rebuild on a new host
# (about 15 minutes on a loaded 2-core machine). Run it before resolving an
# issue that touches backup, wal_archive or the dr_* roles.
dr-drill: setup ## Molecule dr: the disaster-recovery drill (backups under writes, PITR, restore, rebuild).
	$(MAKE) molecule MOLECULE_ARGS="-s dr"

# molecule/repo (issue 11) with its destroy-the-database-host drill, about 3
# minutes more than the scenario alone: run before a change to the repository
# layout is called done; `make test` leaves it out.
drill-repo: setup ## Molecule repo with its drill: the database host destroyed, rebuilt from the repository host.
	TMI_REPO_DRILL=1 $(MAKE) molecule MOLECULE_ARGS="-s repo"

# The failover drill of molecule/ha (issue 12): the leader's container
# killed while TMI writes through the proxy, the old leader's rejoin,
# switchover.yml, etcd without a quorum, failover.yml, the cluster's PITR and
# rebuild, and the checks that run site.yml on the whole cluster (a
# reload-only change restarts nothing; check mode changes nothing); about 35
# minutes. Run it before a change to the HA layout is called done; `make
# test` leaves it out.
drill-ha: setup ## Molecule ha with its drill: failover, rejoin, switchover, a lost etcd quorum and failover.yml under a writer, cluster PITR and rebuild, site.yml on the live cluster.
	TMI_HA_DRILL=1 $(MAKE) molecule MOLECULE_ARGS="-s ha"

# molecule/ha on Debian 13 (issue 14): Patroni 4, etcd 3.5 and PostgreSQL 17
# in three systemd containers of that release, the scenario's tests without
# the drill (about 20 minutes; the systemd image is built when missing). CI
# runs the scenario on Debian 12 only. Debian 11 cannot run it: its pgBackRest
# (2.33) has no TLS server for the repository host the layout needs.
ha-trixie: setup ## Molecule ha on Debian 13 (Patroni 4, etcd 3.5, PostgreSQL 17), without the drill.
	@docker info >/dev/null 2>&1 || scripts/docker-engine.sh
	image=$$(MOLECULE_DEBIAN_SUITE=trixie MOLECULE_SYSTEMD_IMAGE= scripts/molecule-image.sh systemd --print) && \
		MOLECULE_SYSTEMD_IMAGE=$$image TMI_HA_PG_VERSION=17 NO_COLOR=1 $(VENV_BIN)/molecule test -s ha

# The in-place major upgrade (issue 14): molecule/upgrade provisions a
# Debian 12 container with 15 and TMI rows, installs postgresql-17 from
# Debian 13's archive (a partial release upgrade), runs upgrade_major.yml and
# verifies 17 on the old port, the rows, the schema, the kept 15 cluster,
# the stanza and the refusals. `make test` leaves it out. With the default
# link method verify ends with the confirmation;
# `TMI_UPGRADE_METHOD=copy make upgrade-drill` upgrades by copy and goes back
# to 15 (major_upgrade_way_back): 15 on the port, pgBackRest archiving and
# backing up 15 again, no backup deleted; then clone's refusal without reflinks.
upgrade-drill: setup ## Molecule upgrade: PostgreSQL 15 to 17 in place with upgrade_major.yml, then its refusals (TMI_UPGRADE_METHOD=copy: the way back).
	$(MAKE) molecule MOLECULE_ARGS="-s upgrade"

# Two containers (Debian 12 / 15 and Debian 13 / 17) and a writer throughout;
# TMI_UPGRADE_LOGICAL_GB=1 loads about 1 GB first (the total time for 1 GB).
upgrade-logical-drill: setup ## Molecule upgrade_logical: 15 to 17 on a new host by logical replication, a writer throughout.
	@MOLECULE_DEBIAN_SUITE=trixie scripts/molecule-image.sh systemd
	$(MAKE) molecule MOLECULE_ARGS="-s upgrade_logical"

site: setup ## Provision this machine: site.yml against the local inventory.
	$(VENV_BIN)/ansible-playbook -i $(INVENTORY) $(PLAYBOOK)

clean: ## Remove build output (the sanity tree and test output), not .venv.
	rm -rf build tests/output
