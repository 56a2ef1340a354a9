"""Builds the image the Dockerfile describes, as a root filesystem on disk.

No container engine is needed: the build stage's commands run with this machine's Rust
toolchain (Debian 12, as `rust:1-bookworm`) in a copy of the build context, with WORKDIR mapped
to that copy; the runtime stage's base, distroless cc-debian12, is assembled from the Debian 12
packages distroless builds it from. The result has what the real image has: glibc, libgcc,
libstdc++, CA certificates, time zones, the users root/nobody/nonroot, no shell, and the
binary with the image's ENTRYPOINT, CMD, ENV and USER.
"""

import dataclasses
import os
import pathlib
import re
import shutil
import subprocess

from . import dockerfile

# What gcr.io/distroless/cc-debian12 is made of (its "static", "base" and "cc" layers).
DISTROLESS_PACKAGES = {
    "gcr.io/distroless/cc-debian12": [
        "base-files", "netbase", "tzdata", "ca-certificates",
        "libc6", "libssl3", "libgcc-s1", "libgomp1", "libstdc++6",
    ],
}
# The environment those images set (their config's Env).
DISTROLESS_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
}
PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
GROUP = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
NSSWITCH = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"


@dataclasses.dataclass
class Image:
    """A built image: its root filesystem and the runtime stage's settings."""

    root: pathlib.Path
    entrypoint: list
    cmd: list
    env: dict
    uid: int
    gid: int
    exposed: list


def ignored(patterns):
    """A predicate over context-relative paths, following .dockerignore (`*` stays in one folder)."""
    expressions = []
    for pattern in patterns:
        pattern = pattern.strip().strip("/")
        if not pattern or pattern.startswith("#"):
            continue
        regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        expressions.append(re.compile(regex + "(/.*)?"))
    return lambda relative: any(expression.fullmatch(relative) for expression in expressions)


def copy_context(context, sources, destination, is_ignored):
    """COPY from the build context, keeping modification times (so cargo rebuilds only what changed)."""
    destination.mkdir(parents=True, exist_ok=True)
    for source in sources:
        path = context / source
        if path.is_dir():
            # As Docker does: a folder's contents, not the folder itself.
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(context).as_posix()
                if file.is_dir() or is_ignored(relative):
                    continue
                out = destination / file.relative_to(path)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, out)
            # Folders keep their times too: build scripts watch folders (rerun-if-changed).
            for folder in [path, *(d for d in path.rglob("*") if d.is_dir())]:
                if (destination / folder.relative_to(path)).is_dir():
                    shutil.copystat(folder, destination / folder.relative_to(path))
        elif not is_ignored(source):
            shutil.copy2(path, destination / path.name)


def run_build_stage(stage, context, workdir):
    """A build stage: its COPYs into `workdir` (WORKDIR's stand-in), then its RUN commands
    (the dashboard's stage with this machine's Node.js, the binary's with its Rust)."""
    for entry in workdir.iterdir() if workdir.exists() else []:
        if entry.name != "target":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    is_ignored = ignored((context / ".dockerignore").read_text().splitlines())
    for copy in stage.copies:
        destination = pathlib.PurePosixPath(copy.destination)
        if destination.is_absolute():
            raise ValueError(f"COPY to {destination}: the rehearsal maps only WORKDIR")
        copy_context(context, copy.sources, workdir / destination, is_ignored)
    env = {key: value for key, value in os.environ.items() if key != "CARGO_TARGET_DIR"}
    for command in stage.runs:
        if re.search(r"(^|[\s=])/", command):
            raise ValueError(f"RUN {command!r}: the rehearsal runs build commands only inside WORKDIR")
        subprocess.run(["sh", "-c", command], cwd=workdir, env=env, check=True)


def fetch_packages(packages, cache):
    """The Debian 12 packages' .deb files, downloaded once into `cache` (apt gives this
    machine's release, so it must be Debian 12)."""
    release = pathlib.Path("/etc/os-release").read_text()
    if "VERSION_CODENAME=bookworm" not in release.splitlines():
        raise ValueError("assembling distroless cc-debian12 needs a Debian 12 (bookworm) machine")
    cache.mkdir(parents=True, exist_ok=True)
    missing = [package for package in packages if not list(cache.glob(f"{package}_*.deb"))]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=cache, check=True, capture_output=True)
    return [next(cache.glob(f"{package}_*.deb")) for package in packages]


def assemble_base(base, root, cache):
    """The runtime stage's base image as a directory."""
    name = base.split("@")[0].rsplit(":", 1)[0]
    if name not in DISTROLESS_PACKAGES:
        raise ValueError(f"the rehearsal knows how to assemble {sorted(DISTROLESS_PACKAGES)}, not {base}")
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for deb in fetch_packages(DISTROLESS_PACKAGES[name], cache):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    etc = root / "etc"
    (etc / "passwd").write_text(PASSWD)
    (etc / "group").write_text(GROUP)
    (etc / "nsswitch.conf").write_text(NSSWITCH)
    certificates = sorted((root / "usr/share/ca-certificates").rglob("*.crt"))
    (etc / "ssl/certs").mkdir(parents=True, exist_ok=True)
    (etc / "ssl/certs/ca-certificates.crt").write_text("".join(path.read_text() for path in certificates))
    for directory, owner, mode in (("tmp", 0, 0o1777), ("home/nonroot", 65532, 0o700), ("root", 0, 0o700)):
        path = root / directory
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, owner, owner)
        path.chmod(mode)


def build(context, work):
    """Builds the Dockerfile in `context` under `work`; returns the runtime image."""
    stages = dockerfile.parse((context / "Dockerfile").read_text())
    workdirs = {}
    for stage in stages[:-1]:
        workdirs[stage.name] = (work / "build" / stage.name, stage.workdir)
        run_build_stage(stage, context, workdirs[stage.name][0])
    runtime = stages[-1]
    root = work / "rootfs"
    assemble_base(runtime.base, root, work / "debs")
    for copy in runtime.copies:
        if copy.from_stage is None:
            raise ValueError("the runtime stage copies only from the build stage")
        directory, workdir = workdirs[copy.from_stage]
        for source in copy.sources:
            relative = pathlib.PurePosixPath(source).relative_to(workdir)
            target = root / copy.destination.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if (directory / relative).is_dir():
                # As Docker does: a folder's contents, into the destination folder.
                shutil.copytree(directory / relative, target, dirs_exist_ok=True)
            else:
                shutil.copy2(directory / relative, target)
    uid, _, gid = runtime.user.partition(":")
    return Image(
        root=root,
        entrypoint=runtime.entrypoint,
        cmd=runtime.cmd,
        env={**DISTROLESS_ENV, **runtime.env},
        uid=int(uid),
        gid=int(gid or uid),
        exposed=runtime.exposed,
    )
