# Campus: `make run` starts every service on SQLite; `make test` runs every check.
CARGO ?= cargo
BUF   ?= npx --yes @bufbuild/buf

.PHONY: all build run test lint fmt proto-lint proto-breaking bench k8s-venv k8s-validate k8s-rehearse

all: build

## build: release build of the campus binary
build:
	$(CARGO) build --release --locked -p campus

## run: every service in one process on 127.0.0.1:50051 (SQLite file campus.db, admin on :9464)
run:
	$(CARGO) run --locked -p campus -- serve

## test: contract lint and breaking-change check, then every crate's tests (all of them, even
## after a failure, so one run shows every failing test)
test: proto-lint proto-breaking
	$(CARGO) test --workspace --locked --no-fail-fast

## lint: formatting, clippy with warnings as errors, and no unused dependencies (cargo-machete)
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) machete

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

## bench: every benchmark scenario against a bare-tonic baseline (release build); uses
## CAMPUS_BENCH_DATABASE_URL / CAMPUS_BENCH_REDIS_URL when set, else SQLite; writes target/bench/
bench:
	$(CARGO) run --release --locked -p campus -- bench --json target/bench/report.json --markdown target/bench/report.md

K8S_VENV := target/k8s-venv
K8S_PYTHON_PACKAGES := kubernetes-validate==1.37.0 PyYAML==6.0.2 grpcio==1.85.3 \
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
