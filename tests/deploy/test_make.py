"""The two commands: `make test` installs the Debian packages the tests need (`make system-deps`)
when they are missing and it may, or stops at once with the command to run; `.ci/run` is nothing
but `make test`. `make system-deps` runs here with stand-ins for dpkg-query, id and apt-get on
PATH, so nothing is installed and the machine's own packages do not matter."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from config import ROOT

#: What the tests need from Debian, and the test that needs it.
NEEDED = {
    "chromium": "tests/fixtures_browser.py",
    "fonts-wqy-zenhei": "tests/fixtures_browser.py (Chinese labels in screenshots)",
    "docker-compose": "tests/deploy/test_compose.py",
    "nginx-light": "tests/test_tls.py",
    "prometheus": "tests/deploy/test_monitoring.py (promtool checks the alert rules)",
}


def system_packages() -> list[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    m = re.search(r"^SYSTEM_PACKAGES := (.+)$", text, re.M)
    assert m, "Makefile: no SYSTEM_PACKAGES"
    return m[1].split()


def fake_bin(folder: Path, *, installed: set[str], uid: int, apt_log: Path) -> dict[str, str]:
    folder.mkdir()
    scripts = {
        # dpkg-query -W -f='${Status}' <package>
        "dpkg-query": 'case " {pkgs} " in *" $3 "*) printf "install ok installed";; *) exit 1;; esac'.format(
            pkgs=" ".join(sorted(installed))
        ),
        "id": f"echo {uid}",
        "apt-get": f'echo "$@" >> {apt_log}',
    }
    for name, body in scripts.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{folder}:{os.environ['PATH']}", "HOME": str(folder)}


def system_deps(tmp_path: Path, *, installed: set[str], uid: int, **make_vars: str) -> tuple[int, str, str]:
    apt_log = tmp_path / "apt.log"
    env = fake_bin(tmp_path / "bin", installed=installed, uid=uid, apt_log=apt_log)
    make = shutil.which("make")
    assert make, "make is missing"
    args = [make, "-s", "-C", str(ROOT), "system-deps", *(f"{k}={v}" for k, v in make_vars.items())]
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stderr, apt_log.read_text() if apt_log.exists() else ""


def test_system_packages_are_those_the_tests_need() -> None:
    assert sorted(system_packages()) == sorted(NEEDED)


def test_nothing_to_do_when_everything_is_installed(tmp_path: Path) -> None:
    code, err, apt = system_deps(tmp_path, installed=set(NEEDED), uid=1000)
    assert (code, apt) == (0, ""), err


def test_root_installs_what_is_missing(tmp_path: Path) -> None:
    installed = {"chromium", "fonts-wqy-zenhei"}
    code, err, apt = system_deps(tmp_path, installed=installed, uid=0)
    assert code == 0, err
    missing = [p for p in system_packages() if p not in installed]
    assert apt.split("\n")[0].split() == ["install", "-y", "-qq", *missing]


@pytest.mark.parametrize(("uid", "make_vars"), [(1000, {}), (0, {"INSTALL_SYSTEM_DEPS": "no"})])
def test_otherwise_stops_with_the_one_command(tmp_path: Path, uid: int, make_vars: dict[str, str]) -> None:
    installed = {"chromium", "docker-compose"}
    code, err, apt = system_deps(tmp_path, installed=installed, uid=uid, **make_vars)
    assert code != 0 and apt == ""
    commands = [line.strip() for line in err.splitlines() if "apt-get install" in line]
    missing = " ".join(p for p in system_packages() if p not in installed)
    assert commands == [f"sudo apt-get update && sudo apt-get install -y {missing}"]


def test_make_test_starts_with_the_system_packages() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    m = re.search(r"^test: (.+?)(\s+##|$)", text, re.M)
    assert m and m[1].split()[0] == "system-deps", "make test: system-deps first (fail fast)"
    assert "install" in m[1].split()


def test_ci_runs_exactly_make_test() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    code = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert code == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "exec make test"]
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
