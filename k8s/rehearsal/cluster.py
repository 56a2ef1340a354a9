"""A one-node cluster network and pods, from Linux namespaces.

Each pod gets its own network namespace with its own IP on a bridge (so every service listens
on 0.0.0.0:50051 as in its manifest, and probes go to the pod IP as the kubelet's do), and runs
in the image's root filesystem, mounted read-only, as the manifest's user, with no
capabilities and no new privileges. Service names resolve through the image's /etc/hosts,
written as cluster DNS would answer.
"""

import dataclasses
import ipaddress
import pathlib
import subprocess

NETWORK = ipaddress.ip_network("10.244.0.0/24")
BRIDGE = "campus0"
GATEWAY = NETWORK[1]


def ip(*arguments, namespace=None):
    """Runs `ip`, in the namespace when one is given."""
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    subprocess.run([*prefix, "ip", *arguments], check=True, capture_output=True)


@dataclasses.dataclass
class Pod:
    """A pod's name, address and network namespace."""

    name: str
    address: ipaddress.IPv4Address
    namespace: str


class Network:
    """The bridge and the pods' namespaces; removed again by `close`."""

    def __init__(self):
        self.pods = []
        self.close()
        ip("link", "add", BRIDGE, "type", "bridge")
        ip("addr", "add", f"{GATEWAY}/{NETWORK.prefixlen}", "dev", BRIDGE)
        ip("link", "set", BRIDGE, "up")

    def add_pod(self, name):
        """A new pod with the next free address."""
        index = len(self.pods)
        pod = Pod(name=name, address=NETWORK[10 + index], namespace=f"campus-{name}")
        host_end, pod_end = f"campus-v{index}", f"campus-p{index}"
        ip("netns", "add", pod.namespace)
        ip("link", "add", host_end, "type", "veth", "peer", "name", pod_end)
        ip("link", "set", host_end, "master", BRIDGE, "up")
        ip("link", "set", pod_end, "netns", pod.namespace)
        ip("link", "set", "lo", "up", namespace=pod.namespace)
        ip("link", "set", pod_end, "name", "eth0", namespace=pod.namespace)
        ip("addr", "add", f"{pod.address}/{NETWORK.prefixlen}", "dev", "eth0", namespace=pod.namespace)
        ip("link", "set", "eth0", "up", namespace=pod.namespace)
        ip("route", "add", "default", "via", str(GATEWAY), namespace=pod.namespace)
        self.pods.append(pod)
        return pod

    def close(self):
        """Removes every namespace and link this network (or an interrupted earlier run) made."""
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        for line in listed.splitlines():
            name = line.split()[0]
            if name.startswith("campus-"):
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)


def write_hosts(root, names):
    """The image's /etc/hosts: localhost and every cluster name the pods resolve."""
    lines = ["127.0.0.1 localhost", "::1 localhost"]
    lines += [f"{address} {' '.join(aliases)}" for address, aliases in names.items()]
    (root / "etc/hosts").write_text("\n".join(lines) + "\n")


def mount_read_only(root):
    """Makes `root` a read-only bind mount of itself (in the rehearsal's own mount namespace)."""
    subprocess.run(["mount", "--bind", str(root), str(root)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(root)], check=True)


def mount_writable(folder, mount_point):
    """Mounts `folder` at `mount_point` inside the read-only image, writable: a pod's volume."""
    subprocess.run(["mount", "--bind", str(folder), str(mount_point)], check=True)


def start(pod, root, uid, gid, argv, env, log, stdin=None):
    """The container's process: in the pod's network, chrooted to the image, as uid:gid;
    `stdin` (text) is written to its standard input, as `kubectl exec -i` does."""
    if uid == 0:
        raise ValueError(f"{pod.name}: the container would run as root")
    command = [
        "setpriv", "--no-new-privs", "--",
        "nsenter", f"--net=/run/netns/{pod.namespace}", f"--root={root}", "--wd=/",
        f"--setuid={uid}", f"--setgid={gid}", "--", *argv,
    ]
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                               stdout=log, stderr=subprocess.STDOUT, text=True)
    if stdin is not None:
        process.stdin.write(stdin)
        process.stdin.close()
    return process


def process_status(pid):
    """The fields of /proc/<pid>/status the security checks read."""
    fields = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields
