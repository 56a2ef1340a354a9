#!/usr/bin/env python3
"""Renders every kustomize overlay and validates it.

1. `kubectl kustomize` renders k8s/base, k8s/overlays/dev and k8s/overlays/prod into
   target/k8s/<name>.yaml.
2. kubernetes-validate checks every object against the Kubernetes JSON schemas of the pinned
   version (strict: unknown fields are errors).
3. A policy check: every Deployment has startup, readiness and liveness probes, resource
   requests and limits, runs as non-root with a read-only root filesystem, no privilege
   escalation, all capabilities dropped and the RuntimeDefault seccomp profile.
4. Self-test: the policy check must refuse k8s/tests/deployment-without-probes.yaml, so a
   check that cannot fail would fail here.

Exits non-zero on any problem.
"""

import pathlib
import subprocess
import sys

import yaml

KUBERNETES_VERSION = "1.30.0"
ROOT = pathlib.Path(__file__).resolve().parent
OUT = ROOT.parent / "target" / "k8s"
TARGETS = {"base": ROOT / "base", "dev": ROOT / "overlays" / "dev", "prod": ROOT / "overlays" / "prod"}


def render(name, path):
    """The overlay rendered by kubectl kustomize, written to target/k8s/<name>.yaml."""
    rendered = subprocess.run(["kubectl", "kustomize", str(path)], check=True, capture_output=True, text=True).stdout
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"{name}.yaml"
    out.write_text(rendered)
    return out


def policy_problems(documents):
    """Every way the Deployments break the policy, as sentences."""
    problems = []
    for doc in documents:
        if not doc or doc.get("kind") != "Deployment":
            continue
        name = doc["metadata"]["name"]
        pod = doc["spec"]["template"]["spec"]
        pod_security = pod.get("securityContext", {})
        if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: pod has no RuntimeDefault seccomp profile")
        for container in pod.get("containers", []):
            where = f"{name}/{container['name']}"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if probe not in container:
                    problems.append(f"{where}: no {probe}")
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(kind, {}):
                        problems.append(f"{where}: no {resource} {kind}")
            security = container.get("securityContext", {})
            if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
                problems.append(f"{where}: may run as root")
            if not security.get("readOnlyRootFilesystem"):
                problems.append(f"{where}: root filesystem is writable")
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: privilege escalation allowed")
            if "ALL" not in security.get("capabilities", {}).get("drop", []):
                problems.append(f"{where}: capabilities not dropped")
    return problems


def main():
    failed = False
    for name, path in TARGETS.items():
        out = render(name, path)
        documents = list(yaml.safe_load_all(out.read_text()))
        result = subprocess.run(
            [str(pathlib.Path(sys.executable).parent / "kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, str(out)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            failed = True
            print(f"{name}: schema validation failed\n{result.stdout}{result.stderr}")
        problems = policy_problems(documents)
        for problem in problems:
            print(f"{name}: {problem}")
        failed |= bool(problems)
        print(f"{name}: {len(documents)} objects, schema {'ok' if result.returncode == 0 else 'FAILED'}, "
              f"policy {'ok' if not problems else 'FAILED'}")
    fixture = ROOT / "tests" / "deployment-without-probes.yaml"
    refused = policy_problems(list(yaml.safe_load_all(fixture.read_text())))
    if not any("no startupProbe" in problem for problem in refused):
        failed = True
        print("self-test: the policy check accepted a Deployment without probes")
    else:
        print(f"self-test: the broken fixture is refused ({len(refused)} problems)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
