#!/usr/bin/env python3
"""Renders every kustomize overlay and validates it.

1. `kubectl kustomize` renders k8s/base, k8s/overlays/dev and k8s/overlays/prod into
   target/k8s/<name>.yaml.
2. kubernetes-validate checks every built-in object against the Kubernetes JSON schemas of
   the pinned version (strict: unknown fields are errors); the Gateway API objects (which it
   has no schemas for) and cert-manager's are checked against the vendored CRD schemas in
   k8s/schemas, strictly too.
3. A policy check: every Deployment has startup, readiness and liveness probes, resource
   requests and limits, runs as non-root with a read-only root filesystem, no privilege
   escalation, all capabilities dropped and the RuntimeDefault seccomp profile.
4. The edge (k8s/edge): every HTTPRoute and Ingress backend is a Service of the overlay with
   that port; each gRPC service of proto/ reaches its own Service and every other path the
   dashboard (web), under the path-prefix rules of the Gateway API and Ingress.
5. Self-tests: the checks must refuse the broken fixtures in k8s/tests (a Deployment without
   probes, an HTTPRoute to a missing Service, an HTTPRoute with an unknown field), so a check
   that cannot fail would fail here.

Exits non-zero on any problem.
"""

import json
import pathlib
import subprocess
import sys

import jsonschema
import yaml

import routes

KUBERNETES_VERSION = "1.30.0"
ROOT = pathlib.Path(__file__).resolve().parent
OUT = ROOT.parent / "target" / "k8s"
# Each rendering, and the kind of edge it must route through (None: no edge).
TARGETS = {"base": (ROOT / "base", None), "dev": (ROOT / "overlays" / "dev", "Ingress"),
           "prod": (ROOT / "overlays" / "prod", "HTTPRoute"),
           "prod-tls": (ROOT / "overlays" / "prod-tls", "HTTPRoute")}
# Paths of the dashboard (its files and its own routes), which the edge sends to web.
DASHBOARD_PATHS = ["/", "/assets/index-3f2a.js", "/money/transactions", "/campus.users.v1.UsersServiceX/Login"]


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


def strict(schema):
    """The schema with unknown fields refused wherever it lists the known ones (as
    kubernetes-validate --strict does; the API server would drop them silently)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tightened = {key: strict(value) for key, value in schema.items()}
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        tightened["additionalProperties"] = False
    return tightened


# The custom resources Campus ships, by API version: their vendored CRD schemas (k8s/schemas).
CUSTOM_KINDS = {"gateway.networking.k8s.io/v1": ("gateway-api", ["Gateway", "HTTPRoute"]),
                "cert-manager.io/v1": ("cert-manager", ["Certificate", "Issuer"])}
CUSTOM_SCHEMAS = {(api, kind): strict(json.loads((ROOT / "schemas" / folder / f"{kind.lower()}-v1.json").read_text()))
                  for api, (folder, kinds) in CUSTOM_KINDS.items() for kind in kinds}


def custom_resource_problems(documents):
    """Every way the custom resources (Gateway API, cert-manager) break their CRD schemas,
    as sentences."""
    problems = []
    for doc in documents:
        if doc.get("apiVersion") not in CUSTOM_KINDS:
            continue
        schema = CUSTOM_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if schema is None:
            problems.append(f"{where}: no vendored schema for this kind")
            continue
        for error in jsonschema.Draft7Validator(schema).iter_errors(doc):
            place = "/".join(str(part) for part in error.absolute_path) or "(top)"
            problems.append(f"{where}: {place}: {error.message}")
    return problems


def edge_problems(documents, edge_kind):
    """Every edge backend that is not a Service of the rendering with that port, and every
    path the edge routes to the wrong place, as sentences."""
    problems = []
    services = {(doc["metadata"].get("namespace", "default"), doc["metadata"]["name"]): doc["spec"].get("ports", [])
                for doc in documents if doc.get("kind") == "Service"}
    edges = routes.edge_routes(documents)
    for edge, table in edges.items():
        for route in table:
            ports = services.get((route.namespace, route.service))
            if ports is None:
                problems.append(f"{edge}: {route.prefix} goes to the Service {route.namespace}/{route.service}, "
                                "which does not exist")
            elif not any(route.port in (port.get("port"), port.get("name")) for port in ports):
                problems.append(f"{edge}: {route.prefix} goes to port {route.port} of {route.service}, "
                                "which it does not have")
        expected = {f"/{package}.{service}/AnyMethod": routes.service_of_package(package)
                    for package, service in routes.grpc_services(ROOT.parent / "proto")}
        expected.update({path: "web" for path in DASHBOARD_PATHS})
        for path, service in expected.items():
            taken = routes.resolve(table, path)
            if taken is None or taken.service != service:
                problems.append(f"{edge}: {path} goes to {taken.service if taken else 'nothing'}, not {service}")
    kinds = {edge.split("/")[0] for edge in edges}
    if edge_kind is None and kinds:
        problems.append(f"routes through {sorted(kinds)}, where no edge was expected")
    elif edge_kind is not None and edge_kind not in kinds:
        problems.append(f"no {edge_kind} puts the services and the dashboard behind one origin")
    return problems


def kubernetes_validate(name, documents):
    """kubernetes-validate on the built-in objects; its complaint, or None."""
    out = OUT / f"{name}.builtin.yaml"
    out.write_text(yaml.safe_dump_all([doc for doc in documents if doc.get("apiVersion") not in CUSTOM_KINDS]))
    result = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "kubernetes-validate"), "--strict", "--quiet", "-k",
         KUBERNETES_VERSION, str(out)],
        capture_output=True,
        text=True,
    )
    return None if result.returncode == 0 else f"{result.stdout}{result.stderr}"


def self_test(fixture, check, expected):
    """Whether `check` refuses the fixture with a problem containing `expected`; prints why."""
    refused = check([doc for doc in yaml.safe_load_all((ROOT / "tests" / fixture).read_text()) if doc])
    if not any(expected in problem for problem in refused):
        print(f"self-test: the checks accepted k8s/tests/{fixture} (found {refused})")
        return False
    print(f"self-test: k8s/tests/{fixture} is refused ({len(refused)} problems)")
    return True


def main():
    failed = False
    for name, (path, edge_kind) in TARGETS.items():
        out = render(name, path)
        documents = [doc for doc in yaml.safe_load_all(out.read_text()) if doc]
        complaint = kubernetes_validate(name, documents)
        if complaint:
            failed = True
            print(f"{name}: schema validation failed\n{complaint}")
        custom = custom_resource_problems(documents)
        problems = policy_problems(documents)
        edge = edge_problems(documents, edge_kind)
        for problem in custom + problems + edge:
            print(f"{name}: {problem}")
        failed |= bool(custom or problems or edge)
        print(f"{name}: {len(documents)} objects, schema {'ok' if not complaint and not custom else 'FAILED'}, "
              f"policy {'ok' if not problems else 'FAILED'}, edge {'ok' if not edge else 'FAILED'}"
              f"{f' ({edge_kind})' if edge_kind else ''}")
    failed |= not self_test("deployment-without-probes.yaml", policy_problems, "no startupProbe")
    failed |= not self_test("httproute-to-missing-service.yaml", lambda docs: edge_problems(docs, "HTTPRoute"),
                            "Service campus/grades, which does not exist")
    failed |= not self_test("httproute-with-unknown-field.yaml", custom_resource_problems,
                            "Additional properties are not allowed ('backends' was unexpected)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
