"""The dev overlay's PostgreSQL and Redis, as fresh servers on the cluster network.

The overlay runs them as a StatefulSet (postgres:16-alpine) and a Deployment (redis:7-alpine);
without a container engine the rehearsal starts this machine's PostgreSQL and Redis binaries
instead, fresh and empty, set up as those images' entrypoints would from the same environment
(POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB), with password authentication, at the address
the Services resolve to.
"""

import pathlib
import shutil
import subprocess
import tempfile
import time


def wait(what, ready, seconds=30):
    """Polls `ready()` until it is true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not start within {seconds} s")


class Postgres:
    """A new PostgreSQL cluster listening on `address:port`; `stops` receives its clean-up as
    soon as there is something to clean up."""

    def __init__(self, address, port, user, password, database, log, stops):
        binaries = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin"))
        if not binaries:
            raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin, self.port = binaries[-1], port
        self.directory, self.process = pathlib.Path(tempfile.mkdtemp(prefix="campus-rehearsal-pg-")), None
        stops.append(self.stop)
        shutil.chown(self.directory, "postgres", "postgres")
        password_file = self.directory / "password"
        password_file.write_text(password + "\n")
        shutil.chown(password_file, "postgres", "postgres")
        data = self.directory / "data"
        self.run("initdb", "-D", str(data), "-U", user, f"--pwfile={password_file}",
                 "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync")
        with open(data / "pg_hba.conf", "a") as rules:
            rules.write("host all all all scram-sha-256\n")  # as the postgres image does
        self.process = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", str(self.bin / "postgres"), "-D", str(data),
             "-c", f"listen_addresses={address}", "-c", f"port={port}",
             "-c", f"unix_socket_directories={self.directory}", "-c", "fsync=off"],
            stdout=log, stderr=subprocess.STDOUT)
        wait("PostgreSQL", lambda: subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", address, "-p", str(port)]).returncode == 0)
        if database != "postgres":
            self.run("createdb", "-h", str(self.directory), "-p", str(port), "-U", user, database)

    def run(self, program, *arguments):
        """A PostgreSQL program run as the postgres user; its output."""
        return subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / program), *arguments],
                              check=True, capture_output=True, text=True).stdout

    def query(self, user, database, sql):
        """The rows `sql` returns, as lists of text."""
        output = self.run("psql", "-h", str(self.directory), "-p", str(self.port), "-U", user, "-d", database,
                          "-XAtq", "-F", "\t", "-c", sql)
        return [line.split("\t") for line in output.splitlines()]

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.directory, ignore_errors=True)


class Redis:
    """A new Redis that keeps nothing on disk, listening on `address:port`; `stops` receives
    its clean-up."""

    def __init__(self, address, port, log, stops):
        self.process = subprocess.Popen(
            ["redis-server", "--bind", address, "--port", str(port), "--protected-mode", "no",
             "--save", "", "--appendonly", "no"],
            stdout=log, stderr=subprocess.STDOUT)
        stops.append(self.stop)
        wait("Redis", lambda: subprocess.run(
            ["redis-cli", "-h", address, "-p", str(port), "ping"], capture_output=True, text=True
        ).stdout.strip() == "PONG")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
