# Campus: `make run` starts every service on SQLite; `make test` runs every check.
CARGO ?= cargo
BUF   ?= npx --yes @bufbuild/buf

.PHONY: all build run demo web web-lint web-test web-figures screenshots test lint deny deny-advisories fuzz fuzz-smoke fmt proto-lint proto-breaking bench moto-venv ical-venv \
	k8s-venv k8s-validate k8s-rehearse

all: build

## build: release build of the campus binary
build:
	$(CARGO) build --release --locked -p campus

## run: every service in one process on 127.0.0.1:50051 with the dashboard at / (SQLite file
## campus.db, admin on :9464)
run: web
	$(CARGO) run --locked -p campus -- serve --web-dir web/dist

DEMO_ADMIN_EMAIL ?= admin@campus.demo
DEMO_ADMIN_PASSWORD ?= campus demo admin

## demo: a platform admin in campus.db (once), then a term of sample data through the API of
## the server `make run` started; prints the sign-ins
demo:
	@out=$$(CAMPUS_ADMIN_PASSWORD='$(DEMO_ADMIN_PASSWORD)' $(CARGO) run --quiet --locked -p campus -- \
		users create-admin --email '$(DEMO_ADMIN_EMAIL)' 2>&1) \
		|| echo "$$out" | grep -q "already exists" || { echo "$$out"; exit 1; }
	CAMPUS_ADMIN_PASSWORD='$(DEMO_ADMIN_PASSWORD)' $(CARGO) run --quiet --locked -p campus -- \
		demo --admin-email '$(DEMO_ADMIN_EMAIL)'

## web: the dashboard (web/dist), its clients generated from proto/; npm ci when the lockfile
## changed
web: web/node_modules/.package-lock.json
	cd web && npm run build

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

## web-lint: the dashboard's strict type check and formatting (prettier)
web-lint: web/node_modules/.package-lock.json
	cd web && npm run check

## web-test: the dashboard's unit tests (vitest), and its browser tests (Debian's chromium
## under playwright-core) against the built campus binary, screenshots in target/e2e/
web-test: web
	$(CARGO) build --locked --bin campus
	cd web && npm test && npm run e2e

## web-figures: the dashboard's figures for BENCHMARKS.md (first-load size, first render, live
## delivery at 100 marks a second) into target/e2e/figures.json
web-figures: web
	$(CARGO) build --locked --bin campus
	cd web && npm run figures

## screenshots: the browser tests' screenshots of the main views, copied into docs/ for the README
screenshots: web-test
	mkdir -p docs/screenshots
	cp target/e2e/learner-courses.png target/e2e/instructor-attendance.png \
		target/e2e/instructor-chart.png target/e2e/phone-attendance.png \
		target/e2e/school-attendance.png target/e2e/money.png target/e2e/finance-import.png \
		target/e2e/phone-money.png \
		docs/screenshots/

## test: contract lint and breaking-change check, then every crate's tests (all of them, even
## after a failure, so one run shows every failing test)
## (the materials tests run on the filesystem and on moto, an S3-compatible server from PyPI,
## installed pinned in target/moto-venv; the calendar feed is read by Python's icalendar, pinned
## in target/ical-venv)
test: proto-lint proto-breaking moto-venv ical-venv
	$(MOTO_ENV) $(ICAL_ENV) $(CARGO) test --workspace --locked --no-fail-fast
	$(MAKE) web-test

## lint: formatting, clippy with warnings as errors, no unused dependencies (cargo-machete), the
## dependency policy (cargo-deny), and the dashboard's type check and formatting
lint: deny
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) machete
	$(MAKE) web-lint

## deny: the dependency policy of deny.toml: licences, sources (crates.io only) and bans
## (duplicate versions, each allowed one with its reason); needs no network beyond the registry
deny:
	$(CARGO) deny --locked check licenses sources bans

## deny-advisories: RustSec advisories for the locked dependencies; needs github.com (the
## advisory database is cloned from it), so it is not part of lint
deny-advisories:
	$(CARGO) deny --locked check advisories

## fmt: format the code
fmt:
	$(CARGO) fmt --all

## proto-lint: buf lint (STANDARD) over proto/
proto-lint:
	$(BUF) lint

## proto-breaking: proto/ against the previous commit's, when that commit has contracts
proto-breaking:
	@if git rev-parse --verify --quiet HEAD~1 >/dev/null && git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then \
		echo "buf breaking against HEAD~1"; \
		$(BUF) breaking --against '.git#ref=HEAD~1'; \
	else \
		echo "buf breaking: no previous commit with contracts to compare against"; \
	fi

FUZZ := RUSTC_BOOTSTRAP=1 $(CARGO) fuzz
FUZZ_TIME ?= 60

## fuzz: each fuzz target of fuzz/ (cargo-fuzz on the stable toolchain) for FUZZ_TIME seconds
## (default 60), from the committed seeds (fuzz/seeds/) and what earlier runs kept
## (target/fuzz-corpus/); stops at the first crash, whose input is left in fuzz/artifacts/;
## each run's output is in target/fuzz-logs/
fuzz:
	$(FUZZ) build --sanitizer none
	@mkdir -p target/fuzz-logs
	@for target in $$($(FUZZ) list); do \
		mkdir -p target/fuzz-corpus/$$target; \
		echo "fuzzing $$target for $(FUZZ_TIME) s (log: target/fuzz-logs/$$target.log)"; \
		if $(FUZZ) run --sanitizer none $$target target/fuzz-corpus/$$target fuzz/seeds/$$target -- \
			-max_total_time=$(FUZZ_TIME) -print_final_stats=1 >target/fuzz-logs/$$target.log 2>&1; then \
			grep -E '^Done' target/fuzz-logs/$$target.log; \
		else \
			tail -n 40 target/fuzz-logs/$$target.log; exit 1; \
		fi; \
	done

## fuzz-smoke: every fuzz target for 10 seconds (CI)
fuzz-smoke:
	$(MAKE) fuzz FUZZ_TIME=10

## bench: every benchmark scenario against a bare-tonic baseline (release build); uses
## CAMPUS_BENCH_DATABASE_URL / CAMPUS_BENCH_REDIS_URL when set, else SQLite; writes target/bench/
bench:
	$(CARGO) run --release --locked -p campus -- bench --json target/bench/report.json --markdown target/bench/report.md

MOTO_VENV := target/moto-venv
MOTO_ENV  := CAMPUS_TEST_MOTO_SERVER=$(abspath $(MOTO_VENV))/bin/moto_server

## moto-venv: moto's S3-compatible server for the materials tests, pinned, in target/moto-venv
moto-venv:
	@test -x $(MOTO_VENV)/bin/python || python3 -m venv $(MOTO_VENV)
	@test -x $(MOTO_VENV)/bin/moto_server || \
		$(MOTO_VENV)/bin/pip install --quiet --disable-pip-version-check 'moto[server]==5.2.6'

ICAL_VENV := target/ical-venv
ICAL_ENV  := CAMPUS_TEST_ICAL_PYTHON=$(abspath $(ICAL_VENV))/bin/python

## ical-venv: Python's icalendar, an independent parser of the calendar feed for the events
## tests, pinned, in target/ical-venv
ical-venv:
	@test -x $(ICAL_VENV)/bin/python || python3 -m venv $(ICAL_VENV)
	@$(ICAL_VENV)/bin/python -c 'import icalendar' 2>/dev/null || \
		$(ICAL_VENV)/bin/pip install --quiet --disable-pip-version-check icalendar==7.3.2 \
		python-dateutil==4.0.0 typing_extensions==4.16.0 tzdata==2026.6

K8S_VENV := target/k8s-venv
K8S_PYTHON_PACKAGES := kubernetes-validate==1.37.0 jsonschema==4.26.0 PyYAML==6.0.2 grpcio==1.85.3 \
	grpcio-health-checking==1.85.1 grpcio-reflection==1.85.1 protobuf==7.36.2

## k8s-venv: the Python tools of the k8s checks, pinned, in target/k8s-venv
k8s-venv:
	@test -x $(K8S_VENV)/bin/python || python3 -m venv $(K8S_VENV)
	@$(K8S_VENV)/bin/pip install --quiet --disable-pip-version-check $(K8S_PYTHON_PACKAGES)

## k8s-validate: render each kustomize overlay and validate it (Kubernetes 1.30 schemas, probes,
## resources, non-root); needs kubectl
k8s-validate: k8s-venv
	$(K8S_VENV)/bin/python k8s/validate.py

## k8s-rehearse: build the image from the Dockerfile (no container engine) and bring the dev
## overlay up on this machine: pods in network namespaces, read-only non-root image, probes,
## a school's first day through the Services, NetworkPolicies, backup and restore, graceful
## termination, traces. Needs root, kubectl, nft and the PostgreSQL and Redis server binaries;
## logs in target/k8s-rehearsal/logs
REPLICAS ?= 2
k8s-rehearse: k8s-venv
	unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
		env PYTHONPATH=k8s $(K8S_VENV)/bin/python -m rehearsal --replicas $(REPLICAS)
