"""Rehearses `kubectl apply -k k8s/overlays/dev` on this machine, without a container engine.

Steps (each prints a line; any failure ends the run with a non-zero exit):
 1. Build the image the Dockerfile describes (image.py).
 2. Render the dev overlay; start its PostgreSQL and Redis, and an OTLP collector, on a bridge.
 3. Start the migration Job and every Deployment's pods at once (two replicas each, as
    `kubectl scale` would set them; `--replicas`), each pod in its own network namespace with
    its own IP, in the read-only image as the manifest's non-root user, with the manifest's
    args and the environment the kubelet would give (image ENV, ConfigMap, Secret); the Job
    must complete.
 4. Service names resolve to every pod the Service selects (headless: all of them).
 5. Run the startup probes with their thresholds, then keep readiness and liveness probing.
 6. `kubectl exec` the first admin into a users pod, then a school's first day through the
    Services, alternating replicas (smoke.py); scrape each pod's metrics where its
    annotations point: every pod answered calls, and stays under its memory limit.
 7. Terminate the pods as the kubelet does (preStop, SIGTERM, grace period): readiness turns
    NOT_SERVING, each exits 0 in time.
 8. Every service exported spans to the collector, and one trace crosses courses and progress.

Run as root in a private mount namespace: `make k8s-rehearse`.
"""

import argparse
import concurrent.futures
import os
import pathlib
import re
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request

from . import backends, cluster, collector, image, manifests, probes, smoke

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORK = ROOT / "target" / "k8s-rehearsal"
BEGAN = time.monotonic()
MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def say(line):
    print(f"[{time.monotonic() - BEGAN:6.1f}s] {line}", flush=True)


def memory_bytes(quantity):
    """A Kubernetes memory quantity (like 384Mi) in bytes."""
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", quantity)
    return int(match.group(1)) * MEMORY_UNITS.get(match.group(2), 1)


class Rehearsal:
    """The cluster's parts, so that `close` can take all of them down."""

    def __init__(self, replicas):
        self.replicas = replicas
        self.network, self.running, self.stops = None, [], []
        (WORK / "logs").mkdir(parents=True, exist_ok=True)

    def log(self, name):
        return open(WORK / "logs" / f"{name}.log", "w")

    def close(self):
        for _, process in self.running:
            if process.poll() is None:
                process.kill()
                process.wait()
        for stop in reversed(self.stops):
            stop()
        if self.network:
            self.network.close()

    def run(self):
        say("building the image from the Dockerfile")
        built = image.build(ROOT, WORK)
        size = (built.root / built.entrypoint[0].lstrip("/")).stat().st_size
        if (built.root / "bin/sh").exists() or (built.root / "usr/bin/sh").exists():
            raise AssertionError("the runtime image has a shell")
        say(f"image: {built.root} (binary {size / 2**20:.1f} MiB, no shell, user {built.uid}:{built.gid})")

        objects = manifests.render(ROOT / "k8s" / "overlays" / "dev")
        config = manifests.find(objects, "ConfigMap", "campus-config")[0]["data"]
        say(f"rendered k8s/overlays/dev: {len(objects)} objects")

        self.network = cluster.Network()
        gateway = str(cluster.GATEWAY)
        postgres_env = manifests.container_env(
            manifests.find(objects, "StatefulSet", "postgres")[0]["spec"]["template"]["spec"]["containers"][0],
            {}, objects, "postgres-0")
        postgres = backends.Postgres(gateway, 5432, postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_PASSWORD"],
                                     postgres_env["POSTGRES_DB"], self.log("postgres"))
        self.stops.append(postgres.stop)
        redis = backends.Redis(gateway, 6379, self.log("redis"))
        self.stops.append(redis.stop)
        otlp = urllib.parse.urlsplit(config["OTEL_EXPORTER_OTLP_ENDPOINT"])
        traces = collector.Collector(f"{gateway}:{otlp.port}")
        self.stops.append(traces.stop)
        say(f"PostgreSQL, Redis and the OTLP collector listen on {gateway} (the overlay's backends)")

        job = manifests.find(objects, "Job", "campus-migrate")[0]
        # The overlay's own backends (PostgreSQL, Redis) are not Campus: they stand in above.
        deployments = [d for d in manifests.find(objects, "Deployment")
                       if d["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "campus"]
        pods = {"campus-migrate": self.network.add_pod("campus-migrate")}
        replicas = {}
        for deployment in deployments:
            name = deployment["metadata"]["name"]
            # As `kubectl scale deploy/<name> --replicas=N` would, when asked to.
            count = self.replicas or deployment["spec"].get("replicas", 1)
            replicas[name] = [f"{name}-{replica}" for replica in range(count)]
            for pod_name in replicas[name]:
                pods[pod_name] = self.network.add_pod(pod_name)
        hosts = {gateway: []}
        for service in manifests.find(objects, "Service"):
            selected = [d["metadata"]["name"] for d in deployments
                        if manifests.selects(service, d["spec"]["template"]["metadata"]["labels"])]
            if not selected:
                hosts[gateway].extend(manifests.dns_names(service))
            for pod_name in replicas[selected[0]] if selected else []:
                hosts.setdefault(str(pods[pod_name].address), []).extend(manifests.dns_names(service))
        hosts[gateway].append(otlp.hostname)
        cluster.write_hosts(built.root, hosts)
        cluster.mount_read_only(built.root)

        def container_of(workload):
            return workload["spec"]["template"]["spec"]["containers"][0]

        def launch(workload, pod_name, exec_argv=None):
            """The workload's container in the pod; with `exec_argv`, a `kubectl exec` into it."""
            container, pod_spec = container_of(workload), workload["spec"]["template"]["spec"]
            security = pod_spec.get("securityContext", {})
            argv = exec_argv or (container.get("command") or built.entrypoint) + (container.get("args") or built.cmd)
            env = manifests.container_env(container, built.env, objects, pod_name.split(":")[0])
            process = cluster.start(pods[pod_name.split(":")[0]], built.root, security.get("runAsUser", built.uid),
                                    security.get("runAsGroup", built.gid), argv, env, self.log(pod_name.replace(":", "-")))
            self.running.append((pod_name, process))
            return process

        # As `kubectl apply` does: the Job and the Deployments start together.
        migrate = launch(job, "campus-migrate")
        started = {}
        for deployment in deployments:
            for name in replicas[deployment["metadata"]["name"]]:
                started[name] = (deployment, launch(deployment, name), time.monotonic())
        say(f"job/campus-migrate and {len(deployments)} Deployments ({len(started)} pods) started together")
        if migrate.wait(timeout=120) != 0:
            raise AssertionError(f"job/campus-migrate exited with {migrate.returncode} (see {WORK}/logs/campus-migrate.log)")
        say("job/campus-migrate: completed")
        with concurrent.futures.ThreadPoolExecutor(len(started)) as pool:
            waits = {name: pool.submit(probes.wait_started, str(pods[name].address),
                                       container_of(deployment)["startupProbe"], process, began)
                     for name, (deployment, process, began) in started.items()}
        for name, waited in waits.items():
            seconds, problem = waited.result()
            if problem:
                raise AssertionError(f"{name}: {problem} (see {WORK}/logs/{name}.log)")
            say(f"pod/{name} ({pods[name].address}): startup probe passed {seconds:.1f} s after the container started")

        for name, (deployment, process, _) in started.items():
            status = cluster.process_status(process.pid)
            uid = deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
            expected = {"Uid": f"{uid}\t{uid}\t{uid}\t{uid}", "CapEff": "0000000000000000",
                        "CapPrm": "0000000000000000", "NoNewPrivs": "1", "Groups": ""}
            wrong = {key: status.get(key) for key, value in expected.items() if status.get(key) != value}
            if wrong:
                raise AssertionError(f"{name}: runs with {wrong}, expected {expected}")
        if not os.statvfs(built.root).f_flag & os.ST_RDONLY:
            raise AssertionError("the pods' root filesystem is writable")
        say("every pod runs as 65532 with no capabilities and no new privileges, on a read-only root")

        watches = {}
        for name, (deployment, _, _) in started.items():
            container = container_of(deployment)
            watches[name] = (probes.Watch(str(pods[name].address), container["readinessProbe"]),
                             probes.Watch(str(pods[name].address), container["livenessProbe"]))

        admin_email, admin_password = "admin@rehearsal.example", "rehearsal admin passphrase"
        users_deployment = started["users-0"][0]
        created = launch(users_deployment, "users-0:exec",
                         exec_argv=["campus", "users", "create-admin", "--email", admin_email,
                                    "--password", admin_password])
        if created.wait(timeout=60) != 0:
            raise AssertionError(f"`kubectl exec deploy/users -- campus users create-admin` exited with {created.returncode}")
        say("exec users-0: `campus users create-admin` created the first platform admin")

        clients = {}
        for name in ("users", "courses", "progress", "finance"):
            service = manifests.find(objects, "Service", name)[0]
            port = service["spec"]["ports"][0]
            container = container_of(started[f"{name}-0"][0])
            target = next(p["containerPort"] for p in container["ports"] if p["name"] == port["targetPort"])
            clients[name] = smoke.Client([f"{pods[pod_name].address}:{target}" for pod_name in replicas[name]])
        smoke.first_day(clients, admin_email, admin_password, lambda line: say(f"  {line}"))

        for name, (deployment, process, _) in started.items():
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            url = f"http://{pods[name].address}:{annotations['prometheus.io/port']}{annotations['prometheus.io/path']}"
            text = urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=5).read().decode()
            handled = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                          if line.startswith("grpc_server_handled_total{") and 'grpc_code="OK"' in line
                          and "grpc.health" not in line)
            if handled < 1:
                raise AssertionError(f"{name}: {url} shows no answered calls")
            rss = int(cluster.process_status(process.pid)["VmRSS"].split()[0]) * 1024
            limit = memory_bytes(container_of(deployment)["resources"]["limits"]["memory"])
            if rss >= limit:
                raise AssertionError(f"{name}: resident {rss >> 20} MiB, over its limit {limit >> 20} MiB")
            say(f"pod/{name}: {url} counts {handled:.0f} answered calls; resident {rss >> 20} MiB of {limit >> 20} MiB")

        for name, (readiness, liveness) in watches.items():
            readiness.stop()
            liveness.stop()
            if readiness.tripped() or liveness.tripped():
                raise AssertionError(f"{name}: probes failed during the run: ready {readiness.results}, live {liveness.results}")
        checks = sum(len(watch.results) for pair in watches.values() for watch in pair)
        say(f"readiness and liveness probes passed throughout ({checks} checks)")

        with concurrent.futures.ThreadPoolExecutor(len(started)) as pool:
            stopped = {name: pool.submit(self.terminate, name, deployment, process, str(pods[name].address))
                       for name, (deployment, process, _) in started.items()}
        for name, result in stopped.items():
            say(f"pod/{name}: {result.result()}")

        sent = {}
        for service, trace, span in list(traces.spans):
            sent.setdefault(service, set()).add(trace)
        expected = {entry["value"] for d in deployments for entry in container_of(d)["env"]
                    if entry["name"] == "OTEL_SERVICE_NAME"}
        if not expected <= set(sent):
            raise AssertionError(f"spans arrived from {sorted(sent)}, expected {sorted(expected)}")
        shared = sent["campus-courses"] & sent["campus-progress"]
        if not shared:
            raise AssertionError("no trace holds spans of both courses and progress")
        say(f"collector: {len(traces.spans)} spans from {', '.join(sorted(sent))}; "
            f"{len(shared)} traces cross courses and progress")

    def terminate(self, name, deployment, process, address):
        """The kubelet's termination: preStop, SIGTERM, then the grace period; what happened."""
        pod_spec = deployment["spec"]["template"]["spec"]
        container = pod_spec["containers"][0]
        grace = pod_spec.get("terminationGracePeriodSeconds", 30)
        began = time.monotonic()
        time.sleep(container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0))
        process.send_signal(signal.SIGTERM)
        readiness = probes.settings(container["readinessProbe"])
        seen, deadline = None, time.monotonic() + readiness["period"]
        while time.monotonic() < deadline and seen != "NOT_SERVING":
            seen = probes.check(address, readiness["port"], readiness["service"], readiness["timeout"])
            time.sleep(0.2)
        if seen != "NOT_SERVING":
            raise AssertionError(f"{name}: readiness still {seen} after SIGTERM")
        try:
            code = process.wait(timeout=max(grace - (time.monotonic() - began), 0))
        except Exception as error:
            raise AssertionError(f"{name}: still running at the end of its {grace} s grace period") from error
        if code != 0:
            raise AssertionError(f"{name}: exited with {code} after SIGTERM")
        return f"NOT_SERVING after SIGTERM, exited 0 after {time.monotonic() - began:.1f} s (grace {grace} s)"


def main():
    parser = argparse.ArgumentParser(prog="make k8s-rehearse", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2,
                        help="pods per Deployment, as `kubectl scale` sets them (0: the overlay's own count)")
    rehearsal = Rehearsal(parser.parse_args().replicas)
    try:
        rehearsal.run()
    except Exception as error:  # every failure is the rehearsal's verdict, printed once
        say(f"FAILED: {type(error).__name__}: {error}")
        return 1
    finally:
        rehearsal.close()
    say("rehearsal passed: the dev overlay comes up healthy, serves, and shuts down cleanly")
    return 0


if __name__ == "__main__":
    threading.excepthook = lambda args: say(f"thread failed: {args.exc_value}")
    sys.exit(main())
