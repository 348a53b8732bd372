"""The platform wheel: build_wheel.sh produces a py3-none-<platform> wheel that carries libucwa,
and the installed package imports and works with no UCWA_LIBRARY and no workspace around it.

Building uses pip's build isolation (setuptools from the package index or pip's cache)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import ucwa
from conftest import PYTHON_DIR, Sim


def test_platform_wheel_ships_the_library_and_works_without_ucwa_library(
    tmp_path: Path, sim: Sim
) -> None:
    env = dict(os.environ)
    r = subprocess.run(
        [str(PYTHON_DIR / "build_wheel.sh"), str(tmp_path / "dist")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = Path(r.stdout.strip().splitlines()[-1])
    platform_tag = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    version = ucwa.__version__
    assert wheel.name == f"ucwa_presence-{version}-py3-none-{platform_tag}.whl"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        wheel_meta = z.read(f"ucwa_presence-{version}.dist-info/WHEEL").decode()
    assert "ucwa/_native/libucwa.so" in names and "ucwa/py.typed" in names
    assert "Root-Is-Purelib: false" in wheel_meta

    # Install into an isolated directory and run from outside the workspace with a clean
    # environment, so only the shipped copy can be found.
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check",
         "-q", "--target", str(target), str(wheel)],
        check=True, timeout=120,
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("UCWA_LIBRARY", "PYTHONPATH")}
    clean["PYTHONPATH"] = str(target)
    script = (
        "import sys, ucwa\n"
        "print(ucwa.library_path)\n"
        "with ucwa.Client(sys.argv[1], event_channel=False, keepalive_interval_s=0) as c:\n"
        "    c.sign_in('alice@contoso.com', 'alice-password')\n"
        "    c.make_me_available()\n"
        "    c.set_availability(ucwa.Availability.AWAY)\n"
        "    print(c.get_presence().availability.name)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, sim.url],
        env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    loaded, availability = run.stdout.split()
    assert loaded == str((target / "ucwa" / "_native" / "libucwa.so").resolve())
    assert availability == "AWAY"
    assert [e["status"] for e in sim.requests("presence", "POST")] == [204]
