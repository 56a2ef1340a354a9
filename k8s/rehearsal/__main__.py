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
    Services, alternating replicas (smoke.py); through the overlay's edge (its Ingress, routed
    as a controller would) `/` reaches the web Deployment's dashboard and each service's
    grpc-web path that service;
    scrape each pod's metrics where its annotations point: every pod answered calls, and
    stays under its memory limit.
 7. NetworkPolicies are enforced (nftables per pod); exactly docs/ARCHITECTURE.md's calls connect.
    Then progress is restarted pod by pod while courses, which calls it, keeps answering
    "my courses" with progress: no call may fail.
 8. Run the backup CronJob's script (retention included), restore the dump as the README says
    (pg_restore into an empty database, `campus migrate`) and compare every table's rows.
 9. Terminate the pods as the kubelet does (preStop, SIGTERM, grace period): readiness turns
    NOT_SERVING, each exits 0 in time.
10. Every service exported spans to the collector, and one trace crosses courses and progress.

Run as root in a private mount namespace: `make k8s-rehearse`.
"""

import argparse
import concurrent.futures
import dataclasses
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import routes

from . import backends, cluster, collector, image, manifests, policies, probes, smoke

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


def container_of(workload):
    """The first container of a workload's pod template."""
    return workload["spec"]["template"]["spec"]["containers"][0]


@dataclasses.dataclass
class Running:
    """A pod's container process and what it runs."""

    deployment: dict
    process: subprocess.Popen
    began: float


class Rehearsal:
    """The cluster's parts, kept so that `close` can take all of them down."""

    def __init__(self, replicas):
        self.replicas = replicas
        self.network, self.processes, self.stops = None, [], []
        self.pods, self.replicas_of, self.running = {}, {}, {}
        (WORK / "logs").mkdir(parents=True, exist_ok=True)

    def log(self, name):
        return open(WORK / "logs" / f"{name}.log", "w")

    def close(self):
        """Stops everything started, each part even if another fails to stop."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for stop in [*reversed(self.stops), *([self.network.close] if self.network else [])]:
            try:
                stop()
            except Exception as error:  # the rest must still be stopped
                say(f"clean-up: {type(error).__name__}: {error}")

    def run(self):
        self.build_image()
        self.render()
        self.start_backends()
        self.place_pods()
        self.start_workloads()
        self.check_security()
        self.watches, self.probe_checks = {name: self.watch(name) for name in self.running}, 0
        student = self.first_day()
        self.check_edge()
        self.check_policies()
        self.scrape()
        self.roll("progress", student)
        for name in list(self.watches):
            self.stop_watching(name)
        say(f"readiness and liveness probes passed throughout ({self.probe_checks} checks)")
        with concurrent.futures.ThreadPoolExecutor(len(self.running)) as pool:
            stopped = {name: pool.submit(self.terminate, name, running) for name, running in self.running.items()}
        for name, result in stopped.items():
            say(f"pod/{name}: {result.result()}")
        self.check_traces()
        self.backup_and_restore()

    def check_edge(self):
        """The overlay's edge, as an ingress controller would route it: `/` and the script it
        names reach the dashboard's pods (the web Deployment), and a grpc-web call on each
        service's path reaches that service's pods, from every replica."""
        table = [route for edge in routes.edge_routes(self.objects).values() for route in edge]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def through_edge(path, data=None, headers=None):
            route = routes.resolve(table, path)
            if route is None:
                raise AssertionError(f"the edge routes {path} nowhere")
            answers = []
            for endpoint in self.service_endpoints(route.service, route.port):
                request = urllib.request.Request(f"http://{endpoint}{path}", data=data, headers=headers or {})
                with opener.open(request, timeout=5) as response:
                    answers.append((response.status, response.headers, response.read()))
            return route.service, answers

        served_by, pages = through_edge("/")
        page = pages[0][2].decode()
        if any(status != 200 or '<div id="app">' not in body.decode() for status, _, body in pages):
            raise AssertionError(f"/ through the edge ({served_by}) is not the dashboard")
        script = re.search(r'src="(/assets/[^"]+\.js)"', page)
        if not script:
            raise AssertionError("the dashboard's index.html names no script")
        _, scripts = through_edge(script.group(1))
        if any("immutable" not in headers.get("cache-control", "") for _, headers, _ in scripts):
            raise AssertionError(f"{script.group(1)} is not cached as immutable")
        say(f"edge: / and {script.group(1)} go to service/{served_by}; each of its {len(pages)} pods "
            "serves the dashboard")
        # grpc-web: an empty request message; public GetJwks answers OK, the rest UNAUTHENTICATED
        # (web itself would answer UNIMPLEMENTED).
        grpc_web = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}
        calls = {"/campus.users.v1.UsersService/GetJwks": "0",
                 "/campus.courses.v1.CoursesService/ListCourses": "16",
                 "/campus.progress.v1.ProgressService/GetAttendanceSummary": "16",
                 "/campus.finance.v1.FinanceService/ListAccounts": "16"}
        for path, code in calls.items():
            served_by, answers = through_edge(path, data=bytes(5), headers=grpc_web)
            for status, headers, body in answers:
                answered = headers.get("grpc-status") or re.search(rb"grpc-status:\s*(\d+)", body).group(1).decode()
                if status != 200 or answered != code:
                    raise AssertionError(f"grpc-web {path} through the edge ({served_by}): HTTP {status}, "
                                         f"grpc-status {answered}, expected {code}")
            say(f"edge: grpc-web {path} goes to service/{served_by}; its {len(answers)} pods answer "
                f"grpc-status {code}")

    def service_endpoints(self, name, port):
        """The pod addresses (address:containerPort) behind port `port` (number or name) of the
        Service `name`, as its endpoints would list them."""
        service = manifests.find(self.objects, "Service", name)[0]
        service_port = next(p for p in service["spec"]["ports"] if port in (p["port"], p.get("name")))
        endpoints = []
        for deployment in self.deployments:
            if not manifests.selects(service, deployment["spec"]["template"]["metadata"]["labels"]):
                continue
            ports = container_of(deployment)["ports"]
            target = next(p["containerPort"] for p in ports
                          if service_port["targetPort"] in (p["name"], p["containerPort"]))
            endpoints += [f"{self.pods[pod].address}:{target}" for pod in self.replicas_of[deployment["metadata"]["name"]]]
        if not endpoints:
            raise AssertionError(f"service/{name} selects no pod")
        return endpoints

    @staticmethod
    def is_dashboard(deployment):
        """Whether the Deployment runs `campus serve web`: files and health, so no gRPC calls to
        count and no spans to send (its probes ask the admin port, which is not traced)."""
        return container_of(deployment).get("args", [])[:2] == ["serve", "web"]

    def metrics_url(self, pod):
        """Where Prometheus scrapes the pod, from its annotations."""
        annotations = self.running[pod].deployment["spec"]["template"]["metadata"]["annotations"]
        return f"http://{self.pods[pod].address}:{annotations['prometheus.io/port']}{annotations['prometheus.io/path']}"

    def handled(self, pod, method=None):
        """How many calls the pod answered OK, from its metrics: of `method`, or of every
        method but health checks."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        text = opener.open(self.metrics_url(pod), timeout=5).read().decode()
        wanted = f'grpc_method="{method}"' if method else None
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("grpc_server_handled_total{") and 'grpc_code="OK"' in line
                   and (wanted in line if wanted else "grpc.health" not in line))

    def watch(self, name):
        """Readiness and liveness probes of a pod, on their periods, from now on."""
        container = container_of(self.running[name].deployment)
        address = str(self.pods[name].address)
        return probes.Watch(address, container["readinessProbe"]), probes.Watch(address, container["livenessProbe"])

    def stop_watching(self, name):
        """Stops a pod's probes; fails if they ever reached their failure threshold."""
        readiness, liveness = self.watches.pop(name)
        readiness.stop()
        liveness.stop()
        self.probe_checks += len(readiness.results) + len(liveness.results)
        if readiness.tripped() or liveness.tripped():
            raise AssertionError(f"{name}: probes failed: ready {readiness.results}, live {liveness.results}")

    def roll(self, name, student):
        """A rolling restart of one Deployment's pods, one at a time (maxUnavailable 0: the others
        serve), while a client keeps asking courses for the student's courses, which calls the
        rolled service. Every call must be answered, with progress known."""
        courses = smoke.Client([f"{self.pods[pod].address}:50051" for pod in self.replicas_of["courses"]])
        load = smoke.Load(courses, student)
        for pod in self.replicas_of[name]:
            self.stop_watching(pod)
            self.terminate(pod, self.running[pod])
            deployment = self.running[pod].deployment
            self.running[pod] = Running(deployment, self.launch(deployment, pod, log_name=f"{pod}-restarted"),
                                        time.monotonic())
            seconds, problem = probes.wait_started(str(self.pods[pod].address), container_of(deployment)["startupProbe"],
                                                   self.running[pod].process, self.running[pod].began)
            if problem:
                raise AssertionError(f"{pod} after its restart: {problem}")
            self.watches[pod] = self.watch(pod)
        time.sleep(1)
        load.stop()
        served = sum(self.handled(pod, "BatchGetProgress") for pod in self.replicas_of[name])
        if load.failed or load.unknown or not served:
            raise AssertionError(f"while {name} rolled: {load.answered} answers, {load.unknown} without progress, "
                                 f"failures {load.failed}; the restarted pods answered {served:.0f} calls")
        say(f"rolling restart of {name} ({len(self.replicas_of[name])} pods): {load.answered} calls of "
            f"courses → {name} answered meanwhile, none failed, progress known in every answer; "
            f"the restarted pods answered {served:.0f} of them")

    def build_image(self):
        say("building the image from the Dockerfile")
        self.built = image.build(ROOT, WORK)
        size = (self.built.root / self.built.entrypoint[0].lstrip("/")).stat().st_size
        if (self.built.root / "bin/sh").exists() or (self.built.root / "usr/bin/sh").exists():
            raise AssertionError("the runtime image has a shell")
        say(f"image: {self.built.root} (binary {size / 2**20:.1f} MiB, no shell, "
            f"user {self.built.uid}:{self.built.gid})")

    def render(self):
        self.objects = manifests.render(ROOT / "k8s" / "overlays" / "dev")
        self.config = manifests.find(self.objects, "ConfigMap", "campus-config")[0]["data"]
        self.job = manifests.find(self.objects, "Job", "campus-migrate")[0]
        # The overlay's own backends (PostgreSQL, Redis) are not Campus: start_backends stands in.
        self.deployments = [d for d in manifests.find(self.objects, "Deployment")
                            if d["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "campus"]
        say(f"rendered k8s/overlays/dev: {len(self.objects)} objects")

    def start_backends(self):
        """PostgreSQL, Redis and the OTLP collector on the bridge, as the overlay configures them."""
        self.network = cluster.Network()
        gateway = str(cluster.GATEWAY)
        postgres_env = manifests.container_env(
            container_of(manifests.find(self.objects, "StatefulSet", "postgres")[0]), {}, self.objects, "postgres-0")
        self.postgres = backends.Postgres(gateway, 5432, postgres_env["POSTGRES_USER"],
                                          postgres_env["POSTGRES_PASSWORD"], postgres_env["POSTGRES_DB"],
                                          self.log("postgres"), self.stops)
        backends.Redis(gateway, 6379, self.log("redis"), self.stops)
        self.otlp = urllib.parse.urlsplit(self.config["OTEL_EXPORTER_OTLP_ENDPOINT"])
        self.traces = collector.Collector(f"{gateway}:{self.otlp.port}")
        self.stops.append(self.traces.stop)
        say(f"PostgreSQL, Redis and the OTLP collector listen on {gateway} (the overlay's backends)")

    def place_pods(self):
        """A network namespace per pod, and the image's /etc/hosts as cluster DNS would answer."""
        gateway = str(cluster.GATEWAY)
        for name in ("campus-migrate", "campus-backup", "campus-restore"):
            self.pods[name] = self.network.add_pod(name)
        for deployment in self.deployments:
            name = deployment["metadata"]["name"]
            # As `kubectl scale deploy/<name> --replicas=N` would, when asked to.
            count = self.replicas or deployment["spec"].get("replicas", 1)
            self.replicas_of[name] = [f"{name}-{replica}" for replica in range(count)]
            for pod_name in self.replicas_of[name]:
                self.pods[pod_name] = self.network.add_pod(pod_name)
        hosts = {gateway: [self.otlp.hostname]}
        for service in manifests.find(self.objects, "Service"):
            selected = [d["metadata"]["name"] for d in self.deployments
                        if manifests.selects(service, d["spec"]["template"]["metadata"]["labels"])]
            if not selected:
                hosts[gateway].extend(manifests.dns_names(service))
            for pod_name in self.replicas_of[selected[0]] if selected else []:
                hosts.setdefault(str(self.pods[pod_name].address), []).extend(manifests.dns_names(service))
        cluster.write_hosts(self.built.root, hosts)
        self.addresses = {name: address for address, names in hosts.items() for name in names}
        volumes = self.prepare_volumes()
        cluster.mount_read_only(self.built.root)
        for folder, mount_point in volumes:
            cluster.mount_writable(folder, mount_point)
        self.enforce_policies()

    def prepare_volumes(self):
        """A folder under target/ for each volume a Deployment's container mounts, owned by its
        user, and its mount point in the image: every replica shares it, as a ReadWriteMany
        claim would be shared (the rehearsal's pods share one root)."""
        volumes = []
        for deployment in self.deployments:
            security = deployment["spec"]["template"]["spec"].get("securityContext", {})
            for mount in container_of(deployment).get("volumeMounts", []):
                folder = WORK / "volumes" / f"{deployment['metadata']['name']}-{mount['name']}"
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                os.chown(folder, security.get("runAsUser", self.built.uid), security.get("runAsGroup", self.built.gid))
                mount_point = self.built.root / mount["mountPath"].lstrip("/")
                mount_point.mkdir(parents=True, exist_ok=True)
                volumes.append((folder, mount_point))
                say(f"{deployment['metadata']['name']}: volume {mount['name']} at {mount['mountPath']} is {folder}")
        return volumes

    def enforce_policies(self):
        """Every pod's NetworkPolicies as nftables rules in its network namespace, before its
        container starts (as a CNI does)."""
        cronjob = manifests.find(self.objects, "CronJob", "campus-backup")[0]
        templates = {"campus-migrate": (self.job, self.job["spec"]["template"]),
                     "campus-restore": (self.job, self.job["spec"]["template"]),
                     "campus-backup": (cronjob, cronjob["spec"]["jobTemplate"]["spec"]["template"])}
        for deployment in self.deployments:
            for pod_name in self.replicas_of[deployment["metadata"]["name"]]:
                templates[pod_name] = (deployment, deployment["spec"]["template"])
        endpoints = [{"address": str(self.pods[name].address), "namespace": workload["metadata"]["namespace"],
                      "labels": template["metadata"]["labels"], "name": name}
                     for name, (workload, template) in templates.items()]
        policies_found = manifests.find(self.objects, "NetworkPolicy")
        for endpoint in endpoints:
            policies.enforce(self.pods[endpoint["name"]].namespace,
                             policies.ruleset(endpoint, policies_found, endpoints, cluster.GATEWAY))
        say(f"{len(policies_found)} NetworkPolicies enforced with nftables in {len(endpoints)} pods")

    def check_policies(self):
        """From each service's pod to each other's gRPC port: exactly the calls docs/ARCHITECTURE.md shows
        connect."""
        names = [d["metadata"]["name"] for d in self.deployments]
        pairs = [(source, target) for source in names for target in names]
        with concurrent.futures.ThreadPoolExecutor(len(pairs)) as pool:
            results = {pair: pool.submit(policies.connects, self.pods[self.replicas_of[pair[0]][0]].namespace,
                                         self.pods[self.replicas_of[pair[1]][-1]].address, 50051)
                       for pair in pairs}
        wrong = [f"{source} → {target} {'connects' if result.result() else 'is refused'}"
                 for (source, target), result in results.items()
                 if result.result() != ((source, target) in policies.CALLS)]
        if wrong:
            raise AssertionError("NetworkPolicies differ from docs/ARCHITECTURE.md's calls: " + "; ".join(wrong))
        allowed = sorted(f"{s}→{t}" for (s, t), r in results.items() if r.result())
        say(f"NetworkPolicies: of {len(pairs)} service pairs exactly docs/ARCHITECTURE.md's calls connect ({', '.join(allowed)})")

    def launch(self, workload, pod_name, log_name=None, exec_argv=None, env=None, stdin=None):
        """The workload's container in the pod; with `exec_argv`, a `kubectl exec` into it;
        `env` overrides the container's environment; `stdin` is its standard input."""
        container = container_of(workload)
        security = workload["spec"]["template"]["spec"].get("securityContext", {})
        argv = exec_argv or (container.get("command") or self.built.entrypoint) + (container.get("args") or self.built.cmd)
        env = {**manifests.container_env(container, self.built.env, self.objects, pod_name), **(env or {})}
        process = cluster.start(self.pods[pod_name], self.built.root, security.get("runAsUser", self.built.uid),
                                security.get("runAsGroup", self.built.gid), argv, env, self.log(log_name or pod_name),
                                stdin)
        self.processes.append(process)
        return process

    def start_workloads(self):
        """As `kubectl apply` does: the Job and the Deployments start together."""
        migrate = self.launch(self.job, "campus-migrate")
        for deployment in self.deployments:
            for name in self.replicas_of[deployment["metadata"]["name"]]:
                self.running[name] = Running(deployment, self.launch(deployment, name), time.monotonic())
        say(f"job/campus-migrate and {len(self.deployments)} Deployments ({len(self.running)} pods) started together")
        with concurrent.futures.ThreadPoolExecutor(len(self.running)) as pool:
            waits = {name: pool.submit(probes.wait_started, str(self.pods[name].address),
                                       container_of(r.deployment)["startupProbe"], r.process, r.began)
                     for name, r in self.running.items()}
            if migrate.wait(timeout=120) != 0:
                raise AssertionError(f"job/campus-migrate exited with {migrate.returncode} "
                                     f"(see {WORK}/logs/campus-migrate.log)")
            say("job/campus-migrate: completed")
        for name, waited in waits.items():
            seconds, problem = waited.result()
            if problem:
                raise AssertionError(f"{name}: {problem} (see {WORK}/logs/{name}.log)")
            say(f"pod/{name} ({self.pods[name].address}): startup probe passed {seconds:.1f} s after the container started")

    def check_security(self):
        """Each container's process runs as the manifest says, on a read-only root."""
        for name, running in self.running.items():
            status = cluster.process_status(running.process.pid)
            uid = running.deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
            expected = {"Uid": f"{uid}\t{uid}\t{uid}\t{uid}", "CapEff": "0000000000000000",
                        "CapPrm": "0000000000000000", "NoNewPrivs": "1", "Groups": ""}
            wrong = {key: status.get(key) for key, value in expected.items() if status.get(key) != value}
            if wrong:
                raise AssertionError(f"{name}: runs with {wrong}, expected {expected}")
        if not os.statvfs(self.built.root).f_flag & os.ST_RDONLY:
            raise AssertionError("the pods' root filesystem is writable")
        say("every pod runs as its manifest's non-root user with no capabilities and no new privileges, "
            "on a read-only root")

    def first_day(self):
        """The first admin by `kubectl exec`, then smoke.first_day through the Services; the
        student's token."""
        admin_email, admin_password = "admin@rehearsal.example", "rehearsal admin passphrase"
        users_pod = self.replicas_of["users"][0]
        created = self.launch(self.running[users_pod].deployment, users_pod, log_name=f"{users_pod}-exec",
                              exec_argv=["campus", "users", "create-admin", "--email", admin_email,
                                         "--password-stdin"],
                              stdin=admin_password + "\n")
        if created.wait(timeout=60) != 0:
            raise AssertionError(f"`kubectl exec -i deploy/users -- campus users create-admin` exited with {created.returncode}")
        say(f"exec -i {users_pod}: `campus users create-admin --password-stdin` created the first platform admin")
        clients = {name: smoke.Client(self.service_endpoints(name, 50051))
                   for name in ("users", "courses", "progress", "finance")}
        return smoke.first_day(clients, admin_email, admin_password, lambda line: say(f"  {line}"))

    def backup_and_restore(self):
        """The backup CronJob's container on the database the services wrote, then the README's
        restore steps, and every table compared row by row (the services have stopped, so
        nothing changes the original meanwhile).

        The container's script runs with this machine's sh and pg_dump (its image,
        postgres:16-alpine, cannot run here), in its own pod network, as its manifest's user,
        with its volume's mount path standing for a folder under target/ and the database host
        resolved as cluster DNS would. Retention is checked with dumps dated 10 and 20 days ago.
        """
        cronjob = manifests.find(self.objects, "CronJob", "campus-backup")[0]
        template = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        container = template["containers"][0]
        mount = container["volumeMounts"][0]["mountPath"]
        volume = WORK / "backups"
        shutil.rmtree(volume, ignore_errors=True)
        volume.mkdir(parents=True)
        uid, gid = template["securityContext"]["runAsUser"], template["securityContext"]["runAsGroup"]
        os.chown(volume, uid, gid)
        now = time.time()
        for name, days in (("campus-20000101T000000Z.dump", 20), ("campus-20000111T000000Z.dump", 10)):
            (volume / name).write_text("an older dump")
            os.utime(volume / name, (now - days * 86400, now - days * 86400))
        env = manifests.container_env(container, {"PATH": os.environ["PATH"]}, self.objects, "campus-backup")
        url = urllib.parse.urlsplit(env["DATABASE_URL"])
        env["DATABASE_URL"] = url._replace(netloc=url.netloc.replace(url.hostname, self.addresses[url.hostname])).geturl()
        script = " ".join(container["args"]).replace(mount, str(volume))
        done = subprocess.run(
            ["ip", "netns", "exec", self.pods["campus-backup"].namespace, "setpriv", f"--reuid={uid}",
             f"--regid={gid}", "--clear-groups", "--no-new-privs", *container["command"], script],
            env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"the backup CronJob's container failed: {done.stderr.strip()}")
        dumps = sorted(path.name for path in volume.glob("campus-*.dump"))
        fresh = [name for name in dumps if not name.startswith("campus-2000")]
        if dumps[:1] != ["campus-20000111T000000Z.dump"] or len(fresh) != 1 or list(volume.glob("*.partial")):
            raise AssertionError(f"after the backup job the volume holds {dumps}")
        say(f"cronjob/campus-backup: wrote {fresh[0]} ({(volume / fresh[0]).stat().st_size} bytes), "
            "removed the dump older than 14 days, kept the newer one")

        user, database = url.username, url.path.lstrip("/")
        restored = f"{database}_restored"
        self.postgres.query(user, database, f"DROP DATABASE IF EXISTS {restored}")
        self.postgres.query(user, database, f"CREATE DATABASE {restored}")
        restored_url = url._replace(path=f"/{restored}",
                                    netloc=url.netloc.replace(url.hostname, str(cluster.GATEWAY))).geturl()
        subprocess.run(["pg_restore", "--no-owner", "--dbname", restored_url, str(volume / fresh[0])],
                       check=True, capture_output=True, text=True)
        restore_job = {"spec": {"template": {"spec": self.job["spec"]["template"]["spec"]}}}
        migrate_again = self.launch(restore_job, "campus-restore",
                                    exec_argv=[*self.built.entrypoint, "migrate"],
                                    env={"CAMPUS_DATABASE_URL": url._replace(path=f"/{restored}").geturl()})
        if migrate_again.wait(timeout=120) != 0:
            raise AssertionError(f"`campus migrate` on the restored database exited with {migrate_again.returncode}")
        tables = [row[0] for row in self.postgres.query(
            user, database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        rows = 0
        for table in tables:
            digest = (f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) "
                      f"FROM {table} t")
            original = self.postgres.query(user, database, digest)
            if original != self.postgres.query(user, restored, digest):
                raise AssertionError(f"the restored table {table} differs from the original")
            rows += int(original[0][0])
        say(f"restore per README: pg_restore into an empty database, `campus migrate`; "
            f"{len(tables)} tables, {rows} rows, each table equal to the original row by row")

    def scrape(self):
        """Each pod's metrics, where its Prometheus annotations point; and its memory."""
        for name, running in self.running.items():
            url, handled = self.metrics_url(name), self.handled(name)
            if handled < 1 and not self.is_dashboard(running.deployment):
                raise AssertionError(f"{name}: {url} shows no answered calls")
            peak = int(cluster.process_status(running.process.pid)["VmHWM"].split()[0]) * 1024
            limit = memory_bytes(container_of(running.deployment)["resources"]["limits"]["memory"])
            if peak >= limit:
                raise AssertionError(f"{name}: peak resident {peak >> 20} MiB, over its limit {limit >> 20} MiB")
            say(f"pod/{name}: {url} counts {handled:.0f} answered calls; peak resident {peak >> 20} MiB "
                f"of its {limit >> 20} MiB limit")

    def terminate(self, name, running):
        """The kubelet's termination: preStop, SIGTERM, then the grace period; what happened."""
        pod_spec = running.deployment["spec"]["template"]["spec"]
        container = pod_spec["containers"][0]
        grace = pod_spec.get("terminationGracePeriodSeconds", 30)
        began = time.monotonic()
        time.sleep(container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0))
        running.process.send_signal(signal.SIGTERM)
        readiness = probes.settings(container["readinessProbe"])
        address = str(self.pods[name].address)
        seen, deadline = None, time.monotonic() + readiness["period"]
        while time.monotonic() < deadline and seen != "NOT_SERVING":
            seen = probes.check(address, readiness["port"], readiness["service"], readiness["timeout"])
            time.sleep(0.2)
        if seen != "NOT_SERVING":
            raise AssertionError(f"{name}: readiness still {seen} after SIGTERM")
        try:
            code = running.process.wait(timeout=max(grace - (time.monotonic() - began), 0))
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"{name}: still running at the end of its {grace} s grace period") from error
        if code != 0:
            raise AssertionError(f"{name}: exited with {code} after SIGTERM")
        return f"NOT_SERVING after SIGTERM, exited 0 after {time.monotonic() - began:.1f} s (grace {grace} s)"

    def check_traces(self):
        """Every service exported spans; one trace crosses courses and progress."""
        sent = {}
        for service, trace, _ in list(self.traces.spans):
            sent.setdefault(service, set()).add(trace)
        expected = {entry["value"] for d in self.deployments if not self.is_dashboard(d)
                    for entry in container_of(d)["env"] if entry["name"] == "OTEL_SERVICE_NAME"}
        if not expected <= set(sent):
            raise AssertionError(f"spans arrived from {sorted(sent)}, expected {sorted(expected)}")
        shared = sent["campus-courses"] & sent["campus-progress"]
        if not shared:
            raise AssertionError("no trace holds spans of both courses and progress")
        say(f"collector: {len(self.traces.spans)} spans from {', '.join(sorted(sent))}; "
            f"{len(shared)} traces cross courses and progress")


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
    # A CI timeout's SIGTERM unwinds like an error, so `close` still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("rehearsal terminated"))
    sys.exit(main())
