"""The kubelet's gRPC probes: grpc.health.v1 Check at the pod IP, with the probe's thresholds."""

import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

NO_PROXY = [("grpc.enable_http_proxy", 0)]


def check(address, port, service, timeout):
    """The health status name the pod answers, or the error that stood in for an answer."""
    with grpc.insecure_channel(f"{address}:{port}", options=NO_PROXY) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout)
            return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        except grpc.RpcError as error:
            return f"error {error.code().name}"


def settings(probe):
    """A probe's target and thresholds with Kubernetes' defaults filled in."""
    return {
        "port": probe["grpc"]["port"],
        "service": probe["grpc"].get("service", ""),
        "initial": probe.get("initialDelaySeconds", 0),
        "period": probe.get("periodSeconds", 10),
        "timeout": probe.get("timeoutSeconds", 1),
        "failures": probe.get("failureThreshold", 3),
    }


def wait_started(address, probe, process, began):
    """Runs the startup probe until it passes; the seconds since `began` (the container's
    start), or why the kubelet would give up."""
    probe = settings(probe)
    window = probe["initial"] + probe["failures"] * probe["period"]
    last = ""
    for attempt in range(probe["failures"]):
        # The kubelet probes on a fixed period from the container's start.
        time.sleep(max(began + probe["initial"] + attempt * probe["period"] - time.monotonic(), 0))
        if process.poll() is not None:
            return None, f"the container exited with {process.returncode} before it started"
        last = check(address, probe["port"], probe["service"], probe["timeout"])
        elapsed = time.monotonic() - began
        if last == "SERVING" and elapsed <= window:
            return elapsed, None
    return None, f"startup probe failed for {window} s (last: {last}): the kubelet would restart it"


class Watch:
    """A readiness or liveness probe running on its period in the background, as after start-up."""

    def __init__(self, address, probe):
        self.address, self.probe = address, settings(probe)
        self.results, self.worst_streak, self.streak = [], 0, 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped.is_set():
            result = check(self.address, self.probe["port"], self.probe["service"], self.probe["timeout"])
            self.results.append(result)
            self.streak = 0 if result == "SERVING" else self.streak + 1
            self.worst_streak = max(self.worst_streak, self.streak)
            self.stopped.wait(self.probe["period"])

    def tripped(self):
        """Whether failures ever reached the threshold (not ready, or restarted)."""
        return self.worst_streak >= self.probe["failures"]

    def stop(self):
        self.stopped.set()
        self.thread.join()
