"""The overlay's NetworkPolicies, enforced with nftables in each pod's network namespace.

A pod selected by a policy of a type (Ingress, Egress) is isolated in that direction: only the
peers and ports some rule names get through. Traffic from the node (the bridge's address) is
let in, as CNIs do for the kubelet's probes; the rehearsal's own clients also come from there,
so the client and monitoring rules are not what stops them. Everything between pods is held to
the policies, and `CALLS` says which service-to-service calls docs/ARCHITECTURE.md shows: the rehearsal
checks that exactly those connect.
"""

import subprocess

# Caller → callee over gRPC, from docs/ARCHITECTURE.md's "Who calls whom", plus every service fetching
# the token keys from users (users included, for its own calls).
CALLS = {
    ("courses", "users"), ("courses", "progress"),
    ("progress", "users"), ("finance", "users"), ("users", "users"),
}


def matches(selector, labels):
    """Whether a label selector (matchLabels and matchExpressions) picks these labels."""
    for key, value in (selector or {}).get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in (selector or {}).get("matchExpressions", []):
        present, value = expression["key"] in labels, labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "In":
            ok = present and value in expression["values"]
        elif operator == "NotIn":
            ok = not present or value not in expression["values"]
        elif operator == "Exists":
            ok = present
        elif operator == "DoesNotExist":
            ok = not present
        else:
            raise ValueError(f"selector operator {operator} is not rehearsed")
        if not ok:
            return False
    return True


def peer_addresses(peer, namespace, endpoints):
    """The addresses of the endpoints a rule's peer names."""
    if "ipBlock" in peer:
        raise ValueError("ipBlock peers are not rehearsed")
    found = []
    for endpoint in endpoints:
        if "namespaceSelector" in peer:
            in_namespace = matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": endpoint["namespace"]})
        else:
            in_namespace = endpoint["namespace"] == namespace
        if in_namespace and matches(peer.get("podSelector", {}), endpoint["labels"]):
            found.append(endpoint["address"])
    return found


def direction(pod, policies, endpoints, kind):
    """Whether the pod is isolated for `kind` (Ingress or Egress), and its rules as
    (addresses or None for any, ports or None for all)."""
    isolated, rules = False, []
    peers_key = "from" if kind == "Ingress" else "to"
    for policy in policies:
        spec = policy["spec"]
        types = spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"])
        if policy["metadata"]["namespace"] != pod["namespace"] or kind not in types:
            continue
        if not matches(spec["podSelector"], pod["labels"]):
            continue
        isolated = True
        for rule in spec.get(kind.lower(), []):
            addresses = None
            if peers_key in rule:
                addresses = sorted({a for peer in rule[peers_key]
                                    for a in peer_addresses(peer, policy["metadata"]["namespace"], endpoints)})
                if not addresses:
                    continue
            ports = [(port.get("protocol", "TCP").lower(), port["port"]) for port in rule.get("ports", [])] or None
            rules.append((addresses, ports))
    return isolated, rules


def ruleset(pod, policies, endpoints, node):
    """The nftables ruleset of one pod."""
    chains = []
    for kind, chain, hook, address_field, interface in (
            ("Ingress", "input", "input", "saddr", "iif"), ("Egress", "output", "output", "daddr", "oif")):
        isolated, rules = direction(pod, policies, endpoints, kind)
        lines = [f"type filter hook {hook} priority 0; policy {'drop' if isolated else 'accept'};",
                 "ct state established,related accept", f'{interface} "lo" accept']
        if kind == "Ingress":
            lines.append(f"ip saddr {node} accept")
        for addresses, ports in rules:
            match = f"ip {address_field} {{ {', '.join(addresses)} }} " if addresses else ""
            for protocol, port in ports or [(None, None)]:
                lines.append(match + (f"{protocol} dport {port} " if protocol else "") + "accept")
        chains.append(f"  chain {chain} {{\n" + "".join(f"    {line}\n" for line in lines) + "  }\n")
    return "table inet campus {\n" + "".join(chains) + "}\n"


def enforce(namespace, text):
    """Loads a ruleset into a pod's network namespace."""
    subprocess.run(["ip", "netns", "exec", namespace, "nft", "-f", "-"], input=text, text=True,
                   check=True, capture_output=True)


def connects(namespace, address, port):
    """Whether a TCP connection from the pod's network reaches address:port within half a second."""
    probe = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.5)"
    return subprocess.run(["ip", "netns", "exec", namespace, "python3", "-c", probe, str(address), str(port)],
                          capture_output=True).returncode == 0
