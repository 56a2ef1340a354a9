"""The edge's routes (k8s/edge): which Service a request path reaches, read from the rendered
HTTPRoutes and Ingresses with their path-prefix semantics, and the gRPC services proto/ defines.

Shared by k8s/validate.py (every service's paths reach its Service, the rest the dashboard)
and the rehearsal (which sends the dashboard's requests and a grpc-web call the way the edge
routes them).
"""

import dataclasses
import pathlib
import re


@dataclasses.dataclass(frozen=True)
class Route:
    """One path prefix of an edge object and the Service port it sends requests to."""

    edge: str
    prefix: str
    namespace: str
    service: str
    port: object


def edge_routes(objects):
    """Every path-prefix route of the HTTPRoutes and Ingresses among `objects`, grouped by the
    object that declares it (`Kind/name`)."""
    routes = {}
    for obj in objects:
        kind, name = obj.get("kind"), obj["metadata"]["name"]
        namespace = obj["metadata"].get("namespace", "default")
        edge = f"{kind}/{name}"
        if kind == "HTTPRoute":
            for rule in obj["spec"].get("rules", []):
                # A rule without matches matches every path.
                for match in rule.get("matches") or [{}]:
                    path = match.get("path", {"type": "PathPrefix", "value": "/"})
                    if path.get("type", "PathPrefix") != "PathPrefix":
                        raise ValueError(f"{edge}: path match {path} is not checked")
                    for backend in rule.get("backendRefs", []):
                        if backend.get("kind", "Service") == "Service":
                            routes.setdefault(edge, []).append(Route(
                                edge, path["value"], backend.get("namespace", namespace), backend["name"],
                                backend.get("port")))
        elif kind == "Ingress":
            for rule in obj["spec"].get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    if path["pathType"] != "Prefix":
                        raise ValueError(f"{edge}: pathType {path['pathType']} is not checked")
                    service = path["backend"]["service"]
                    port = service["port"].get("number", service["port"].get("name"))
                    routes.setdefault(edge, []).append(Route(edge, path["path"], namespace, service["name"], port))
    return routes


def prefix_matches(prefix, path):
    """Gateway API PathPrefix and Ingress Prefix: the prefix's path elements begin the path's
    (`/a` matches `/a` and `/a/b`, not `/ab`)."""
    prefix = prefix.rstrip("/")
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


def resolve(routes, path):
    """The route a request for `path` takes: the longest matching prefix; None if none."""
    matching = [route for route in routes if prefix_matches(route.prefix, path)]
    return max(matching, key=lambda route: len(route.prefix.rstrip("/")), default=None)


def grpc_services(proto_dir):
    """(package, service) of every gRPC service in proto/, e.g. ("campus.users.v1", "UsersService")."""
    found = []
    for path in sorted(pathlib.Path(proto_dir).rglob("*.proto")):
        text = path.read_text()
        package = re.search(r"^package\s+([\w.]+)\s*;", text, re.MULTILINE)
        for service in re.findall(r"^service\s+(\w+)\s*\{", text, re.MULTILINE):
            found.append((package.group(1), service))
    return found


def service_of_package(package):
    """The Deployment and Service serving a package: campus.users.v1 → users."""
    return package.split(".")[1]
