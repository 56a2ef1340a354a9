"""The rendered overlay, and what Kubernetes would derive from it for one container."""

import base64
import re
import subprocess

import yaml


def render(overlay):
    """Every object `kubectl kustomize` renders from the overlay."""
    text = subprocess.run(["kubectl", "kustomize", str(overlay)], check=True, capture_output=True, text=True).stdout
    return [document for document in yaml.safe_load_all(text) if document]


def find(objects, kind, name=None):
    """The objects of one kind (and name)."""
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def secret_data(secret):
    """A Secret's keys and values, decoded."""
    values = {key: base64.b64decode(value).decode() for key, value in secret.get("data", {}).items()}
    values.update(secret.get("stringData", {}))
    return values


def container_env(container, image_env, objects, pod_name):
    """The environment the kubelet gives the container: the image's ENV, then envFrom, then env."""
    def source(kind, name):
        found = find(objects, kind, name)
        if not found:
            return None
        return found[0].get("data", {}) if kind == "ConfigMap" else secret_data(found[0])

    env = dict(image_env)
    env["HOSTNAME"] = pod_name
    for entry in container.get("envFrom", []):
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in entry:
                values = source(kind, entry[key]["name"])
                if values is None and not entry[key].get("optional"):
                    raise ValueError(f"{pod_name}: envFrom names the missing {kind} {entry[key]['name']}")
                env.update({entry.get("prefix", "") + k: v for k, v in (values or {}).items()})
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
            continue
        reference = entry.get("valueFrom", {})
        if not {"configMapKeyRef", "secretKeyRef"} & set(reference):
            raise ValueError(f"{pod_name}: {entry['name']} comes from {sorted(reference)}, which is not rehearsed")
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if key not in reference:
                continue
            values = source(kind, reference[key]["name"]) or {}
            if reference[key]["key"] in values:
                env[entry["name"]] = values[reference[key]["key"]]
            elif not reference[key].get("optional"):
                raise ValueError(f"{pod_name}: {entry['name']} names the missing {kind} key {reference[key]['key']}")
    # Kubernetes expands $(NAME) of a defined variable in env values, command and args.
    texts = [entry.get("value", "") for entry in container.get("env", [])]
    texts += container.get("command", []) + container.get("args", [])
    for text in texts:
        for name in re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", text):
            if name in env:
                raise ValueError(f"{pod_name}: $({name}) expansion is not rehearsed")
    return env


def selects(service, labels):
    """Whether the Service's selector picks a pod with these labels."""
    selector = service["spec"].get("selector") or {}
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def dns_names(service):
    """The names a pod in the cluster resolves the Service by."""
    name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
    return [name, f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"]
