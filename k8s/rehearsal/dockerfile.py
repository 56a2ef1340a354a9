"""The Dockerfile read as data: its stages and their instructions.

The rehearsal does not guess what the image holds: it builds what the Dockerfile says, so a
change to the Dockerfile (a COPY that misses a file, a wrong ENTRYPOINT, a user that is root)
shows up here.
"""

import dataclasses
import json
import re
import shlex


@dataclasses.dataclass
class Stage:
    """One `FROM` and what follows it."""

    base: str
    name: str
    workdir: str = "/"
    copies: list = dataclasses.field(default_factory=list)
    runs: list = dataclasses.field(default_factory=list)
    env: dict = dataclasses.field(default_factory=dict)
    user: str = "0"
    entrypoint: list = dataclasses.field(default_factory=list)
    cmd: list = dataclasses.field(default_factory=list)
    exposed: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Copy:
    """`COPY [--from=stage] source... destination`."""

    sources: list
    destination: str
    from_stage: str | None


def instructions(text):
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    if pending:
        logical.append(pending)
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        yield keyword.upper(), arguments.strip()


def exec_form(arguments):
    """ENTRYPOINT/CMD arguments; the rehearsal needs the exec (JSON) form, as the image has no shell."""
    if not arguments.startswith("["):
        raise ValueError(f"{arguments!r}: use the exec form; the runtime image has no shell")
    return json.loads(arguments)


def parse(text):
    """Every stage of the Dockerfile, in order."""
    stages = []
    for keyword, arguments in instructions(text):
        if keyword == "FROM":
            words = [word for word in arguments.split() if not word.startswith("--")]
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", " ".join(words), re.IGNORECASE)
            base = match.group(1)
            # A distroless ":nonroot" base runs as 65532 unless USER says otherwise.
            user = "65532:65532" if base.split("@")[0].endswith(":nonroot") else "0"
            stages.append(Stage(base=base, name=match.group(2) or str(len(stages)), user=user))
            continue
        stage = stages[-1]
        if keyword == "WORKDIR":
            stage.workdir = arguments
        elif keyword == "COPY":
            words = shlex.split(arguments)
            from_stage = None
            while words[0].startswith("--"):
                flag = words.pop(0)
                if flag.startswith("--from="):
                    from_stage = flag.removeprefix("--from=")
                else:
                    raise ValueError(f"COPY {flag}: the rehearsal knows only --from")
            stage.copies.append(Copy(sources=words[:-1], destination=words[-1], from_stage=from_stage))
        elif keyword == "RUN":
            stage.runs.append(arguments)
        elif keyword == "ENV":
            words = shlex.split(arguments)
            if "=" not in words[0]:  # the legacy form: ENV KEY value with spaces
                stage.env[words[0]] = " ".join(words[1:])
                continue
            for pair in words:
                key, _, value = pair.partition("=")
                if "$" in value:
                    raise ValueError(f"ENV {key}: variable substitution is not rehearsed")
                stage.env[key] = value
        elif keyword == "USER":
            stage.user = arguments
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = exec_form(arguments)
        elif keyword == "CMD":
            stage.cmd = exec_form(arguments)
        elif keyword == "EXPOSE":
            stage.exposed.extend(int(port.split("/")[0]) for port in arguments.split())
        else:
            raise ValueError(f"the rehearsal does not know the Dockerfile instruction {keyword}")
    return stages
