"""The built wheel is enough: installed in a fresh virtual environment, `regie seed` works.

The package is built without build isolation (setuptools comes with the test tools),
installed without dependencies into a new virtual environment that sees the test
environment's third-party packages through a path file, and run from a folder outside
the repository: whatever the package needs at run time (town settings, migrations,
styles) must be inside the wheel.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from regie_tui.db import head_revision

from helpers import TODAY, TODAY_HOUR

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGIE_TODAY": f"{TODAY.isoformat()}T{TODAY_HOUR}", "PYTHONPATH": ""}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_the_wheel_alone_seeds_a_town(tmp_path: Path) -> None:
    # Built from a copy of the sources: setuptools writes a build/ folder beside them.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "data", "benchmarks", "tests", "*.egg-info", "__pycache__", ".*cache"
        ),
    )
    dist = tmp_path / "dist"
    built = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--quiet",
        "-w",
        dist,
        source,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("regie_tui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "regie_tui/demo/town.toml" in names and "regie_tui/app.tcss" in names
    assert any(n.startswith("regie_tui/migrations/versions/0001_") for n in names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip()
    )
    # The dependencies, not regie_tui: a plain path line does not run the editable install's hook.
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--no-deps",
        "--no-index",
        "--quiet",
        wheel,
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr

    where = run(python, "-c", "import regie_tui; print(regie_tui.__file__)", cwd=tmp_path).stdout
    assert where.startswith(str(env_dir)), where  # the wheel's copy, not the repository's
    regie = env_dir / "bin" / "regie"
    url = f"sqlite:///{tmp_path / 'ville.db'}"
    seeded = run(regie, "seed", "--db", url, "--families", "4", "--seed", "3", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert "Familles : 4" in seeded.stdout
    shown = run(regie, "db", "status", "--db", url, cwd=tmp_path)
    head = head_revision()
    assert f"Base : révision {head} ; regie-tui attend : {head}." in shown.stdout
