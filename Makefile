# The front door. CI calls the same targets (see .ci/run and .github/workflows/).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_VERSION ?= 3.11
UV_VERSION ?= 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
# The policy pack's own virtualenv: policy/PulumiPolicy.yaml names it (`virtualenv: venv`), and
# the Pulumi CLI runs the pack with its python. The CLI never creates it: this target does.
POLICY_VENV := policy/venv
STACK ?=
NAME ?=
FROM ?= uat
TO ?= prod
CHAMPION ?=
APPLY ?=

# A missing NAME, or a missing or unknown KIND, is said at once, before `setup` (its prerequisite)
# installs anything. The kinds are the template's folders (stacks/new_project.py reads the same).
KIND ?=
TEMPLATE_KINDS := $(notdir $(wildcard ml/template/kinds/*))
ifneq ($(filter new-project,$(MAKECMDGOALS)),)
ifeq ($(strip $(NAME)),)
$(error make new-project: NAME=<name> is required, e.g. make new-project NAME=churn KIND=classification)
endif
ifeq ($(strip $(KIND)),)
$(error make new-project: KIND=<kind> is required; allowed: $(TEMPLATE_KINDS))
endif
ifneq ($(words $(KIND))$(filter $(KIND),$(TEMPLATE_KINDS)),1$(strip $(KIND)))
$(error make new-project: KIND=$(KIND) is not a kind; allowed: $(TEMPLATE_KINDS))
endif
endif

# uv never fetches a Python build: the machine's interpreter is used.
export UV_PYTHON_DOWNLOADS := never
# The wheel's build is reproducible: a fixed timestamp for every file in it.
export SOURCE_DATE_EPOCH ?= 315532800

UV := $(shell command -v uv 2>/dev/null || echo .tools/uv/bin/uv)

.PHONY: help setup policy-venv lock test test-spark test-added-project lint unit wheel plan demo bench promote bootstrap fmt clean \
	new-project projects project-tests bench-spark

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' \
		'{ name[NR] = $$1; text[NR] = $$2; if (length($$1) > width) width = length($$1) } \
		END { for (i = 1; i <= NR; i++) printf "  make %-" width "s  %s\n", name[i], text[i] }'

.tools/uv/bin/uv:
	@echo "uv not on PATH: installing it into .tools/uv with pip"
	python3 -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The ML framework (ml/framework, installed editable; vendored into each project's wheel) and the
# projects, one folder each (ml/projects/<name>/).
FRAMEWORK_DIR := ml/framework
PROJECT_DIRS := $(patsubst %/pyproject.toml,%,$(sort $(wildcard ml/projects/*/pyproject.toml)))

# The locked packages: synced only when the lock changes. The sync uninstalls what the lock does not
# list, the projects too, so they are installed again after it.
$(VENV)/.synced: requirements.lock | $(UV)
	@test -x $(PY) || $(UV) venv --quiet --python $(PYTHON_VERSION) $(VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(PY) --require-hashes requirements.lock
	@touch $@

# The framework and every ML project are installed editable (no dependencies of their own: a
# project's are the framework's, ml/hatch_build.py), so the tests and the local runner see all of them. The stamp
# holds the folders it installed: when one is removed, no prerequisite is newer, so the stamp goes
# and the editable installs are redone from scratch, the removed project's console scripts with
# them (uv pip uninstall removes what its RECORD lists). Seconds, not a sync of the lock.
INSTALLED_PROJECTS := $(VENV)/.projects
ifneq ($(shell cat $(INSTALLED_PROJECTS) 2>/dev/null),$(FRAMEWORK_DIR) $(PROJECT_DIRS))
$(shell rm -f $(INSTALLED_PROJECTS))
endif
$(INSTALLED_PROJECTS): $(VENV)/.synced $(addsuffix /pyproject.toml,$(FRAMEWORK_DIR) $(PROJECT_DIRS)) | $(UV)
	@installed=$$($(UV) pip list --quiet --python $(PY) --editable --format json | $(PY) -c \
		'import json, sys; print(" ".join(p["name"] for p in json.load(sys.stdin)))'); \
		test -z "$$installed" || $(UV) pip uninstall --quiet --python $(PY) $$installed
	$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation \
		$(foreach dir,$(FRAMEWORK_DIR) $(PROJECT_DIRS),-e $(dir))
	@echo "$(FRAMEWORK_DIR) $(PROJECT_DIRS)" > $@

setup: $(INSTALLED_PROJECTS) ## create .venv from the hashed lockfile, with every ML project installed

# The Spark tier's venv: requirements.lock plus pyspark (requirements-spark.lock, the root
# pyproject's `spark` extra), with the ML projects installed as in .venv.
SPARK_VENV := .venv-spark
$(SPARK_VENV)/.synced: requirements-spark.lock $(addsuffix /pyproject.toml,$(FRAMEWORK_DIR) $(PROJECT_DIRS)) | $(UV)
	@test -x $(SPARK_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON_VERSION) $(SPARK_VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(SPARK_VENV)/bin/python --require-hashes requirements-spark.lock
	$(UV) pip install --quiet --python $(SPARK_VENV)/bin/python --no-deps --no-build-isolation \
		$(foreach dir,$(FRAMEWORK_DIR) $(PROJECT_DIRS),-e $(dir))
	@touch $@

$(POLICY_VENV)/.synced: policy/requirements.txt | $(UV)
	@test -x $(POLICY_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON_VERSION) $(POLICY_VENV)
	$(UV) pip sync --quiet --python $(POLICY_VENV)/bin/python --require-hashes policy/requirements.txt
	@touch $@

policy-venv: $(POLICY_VENV)/.synced ## the policy pack's virtualenv, from the hashed policy/requirements.txt

# What a Databricks job installs (infra/jobs.py pins it; the wheel carries it): the framework's
# dependencies without the `local` extra, for serverless environment 4's Python, at the versions the
# local lock (what the tests run) holds.
DATABRICKS_LOCK := ml/framework/src/mlops_framework/requirements-databricks.lock
DATABRICKS_PYTHON := 3.12
lock: | $(UV) ## recompile the locks (platform, Spark tier, ML projects, Databricks) after a pyproject.toml change
	$(UV) pip compile pyproject.toml ml/framework/pyproject.toml --extra dev --extra local --generate-hashes \
		--python-version $(PYTHON_VERSION) --quiet -o requirements.lock
	$(UV) pip compile pyproject.toml ml/framework/pyproject.toml --extra dev --extra local --extra spark -c requirements.lock \
		--generate-hashes --python-version $(PYTHON_VERSION) --quiet -o requirements-spark.lock
	$(UV) pip compile ml/framework/pyproject.toml --extra local -c ml/serverless-environment-4.txt --generate-hashes \
		--python-version 3.11 --quiet -o ml/framework/requirements.lock
	for dir in $(PROJECT_DIRS); do \
		(cd $$dir && $(abspath $(UV)) pip compile pyproject.toml --extra local -c ../../serverless-environment-4.txt \
			--generate-hashes --python-version 3.11 --quiet -o requirements.lock) || exit 1; \
	done
	$(UV) pip compile ml/framework/pyproject.toml -c ml/serverless-environment-4.txt -c ml/framework/requirements.lock \
		--generate-hashes --python-version $(DATABRICKS_PYTHON) --quiet -o $(DATABRICKS_LOCK)

lint: setup ## ruff + mypy (strict for stacks/, infra/ and bootstrap/)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Formatting runs even where a fix is left to a person (`ruff check --fix` exits 1 then), and
# whatever is left is reported last, failing the target.
fmt: setup ## apply ruff's fixes and formatting; then list what is left to fix by hand
	$(VENV)/bin/ruff check --fix --exit-zero --silent .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check .

# Every ML project is a folder ml/projects/<name>/. `make wheel` builds each into dist/<name>/,
# exactly one wheel per folder, the framework vendored into it
# (docs/ml.md, projects). Built aside, then renamed into dist/<name>/: a reader (the demo's
# background run rebuilds it while the tests read it) sees the old wheel or the new one, never none.
PROJECT_NAMES := $(notdir $(PROJECT_DIRS))
# PROJECT=<name>: `make wheel` and `make project-tests` for that project only (CI: one job each).
PROJECT ?=
ifneq ($(PROJECT),)
ifeq ($(filter $(PROJECT),$(PROJECT_NAMES)),)
$(error PROJECT=$(PROJECT) is not an ML project; allowed: $(PROJECT_NAMES))
endif
BUILT_DIRS := ml/projects/$(PROJECT)
else
BUILT_DIRS := $(PROJECT_DIRS)
endif

wheel: setup ## build every ML project's wheel into dist/<name>/ (reproducible); PROJECT=<name>: one
	@find dist -maxdepth 1 -name '*.whl' -delete 2>/dev/null || true
	@for dir in $(BUILT_DIRS); do \
		name=$${dir##*/}; \
		rm -rf "dist/.build-$$name" && mkdir -p "dist/$$name" && \
		$(UV) build --quiet --wheel --no-build-isolation --python $(PY) --out-dir "dist/.build-$$name" "$$dir" && \
		built=$$(ls "dist/.build-$$name"/*.whl) && mv -f "$$built" "dist/$$name/" && \
		find "dist/$$name" -maxdepth 1 -name '*.whl' ! -name "$$(basename "$$built")" -delete && \
		rm -rf "dist/.build-$$name" && ls "dist/$$name"/*.whl || exit 1; \
	done

projects: ## the ML projects' names as a JSON list (CI's matrix of project jobs)
	@echo '[$(patsubst %,"%",$(PROJECT_NAMES))]' | sed 's/" "/", "/g'

# A project's tests live in its folder (the framework's, tests/ml, run with the platform's).
project-tests: setup ## one ML project's tests: make project-tests PROJECT=<name>
	@test -n "$(PROJECT)" || { echo "make project-tests: PROJECT=<name> is required" >&2; exit 2; }
	$(PY) -m pytest -q ml/projects/$(PROJECT)

unit: setup wheel ## pytest only
	$(PY) -m pytest -q

test: lint unit ## lint, then the whole test suite (what CI runs)

# The Spark tier: the Databricks backend's Spark code on real local Spark (Java 17), Connect and
# classic sessions (tests/ml/test_ml_spark.py, marker `spark`; `make test` deselects it).
# README's add-a-project sequence in a fresh clone, then the whole suite there (CI: .ci/run).
test-added-project: setup wheel ## the README's add-a-project steps in a fresh clone, then the whole suite there
	$(PY) -m pytest -q -m added_project tests/demo/test_add_project.py

test-spark: $(SPARK_VENV)/.synced ## the Spark tier: pytest -m spark in its own venv (pyspark, Java 17)
	$(SPARK_VENV)/bin/python -m pytest -q -m spark tests/ml/test_ml_spark.py

plan: setup wheel ## offline plan: make plan [STACK=dev|bootstrap] [CHAMPION=<version>: as after training]
ifeq ($(STACK),bootstrap)
	$(PY) -m bootstrap.plan
else
	$(PY) -m stacks.plan $(if $(STACK),--stack $(STACK),) $(if $(CHAMPION),--champion $(CHAMPION),)
	$(if $(STACK),,$(PY) -m bootstrap.plan)
endif

demo: setup ## the whole platform on this laptop, offline: plan, train, gate, serve, promote
	$(PY) -m demo

bench: setup wheel ## performance figures as ratios measured in one run
	$(PY) -m bench

# The daily jobs on the real local Spark (bench/spark_daily.py): pyspark is in the Spark tier's venv.
bench-spark: $(SPARK_VENV)/.synced ## the daily jobs as history grows (1, 7, 30 days) on the real local Spark
	$(SPARK_VENV)/bin/python -m bench.spark_daily

new-project: setup ## start an ML project: make new-project NAME=<name> KIND=classification|regression
	$(PY) -m stacks.new_project "$(NAME)" "$(KIND)"

promote: setup wheel ## show what FROM's pins (and the built wheels' sha256) change in TO's stack file: make promote FROM=uat TO=prod; APPLY=1 writes it
	$(PY) -m stacks.promote --from $(FROM) --to $(TO) $(if $(APPLY),--apply,)

bootstrap: setup policy-venv ## once per organisation: state backend, keys, preview identity, repo settings (asks; GITHUB_TOKEN)
	$(PY) -m bootstrap.cli

clean: ## remove build outputs and local ML state (keeps .venv)
	rm -rf dist .local .pytest_cache .mypy_cache .ruff_cache
