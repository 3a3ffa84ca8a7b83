import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUBPACKAGES = ("core", "pipeline", "models", "targets", "reports")


def test_every_code_folder_is_a_declared_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = set(config["tool"]["setuptools"]["packages"])
    found = set()
    for sub in SUBPACKAGES:
        for init in (ROOT / sub).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).parts
            found.add(".".join(("neuropipe", *rel)))
    assert found == declared


def test_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "neuropipe.pipeline.cli", "--help"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "train" in out.stdout


def test_wheel_installs_and_runs_help(tmp_path):
    """`pip install .` gives a working `neuropipe --help` (dependencies borrowed from this env)."""
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    # Make this environment's dependencies visible, but not its editable neuropipe.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(wheels.glob("neuropipe-*.whl"))
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" /
                              "python"), "install", "--no-deps", "-q", str(wheel)],
                             capture_output=True, text=True)
    if "no such option: --python" in install.stderr:
        install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                                  "--target", str(site), str(wheel)], capture_output=True,
                                 text=True)
    assert install.returncode == 0, install.stderr
    help_run = subprocess.run([str(env_dir / "bin" / "python"), "-c",
                               "import neuropipe.pipeline.cli as c, sys; "
                               "assert 'site-packages' in c.__file__, c.__file__; "
                               "sys.argv = ['neuropipe', '--help']; c.main()"],
                              capture_output=True, text=True, cwd=tmp_path)
    assert help_run.returncode == 0, help_run.stderr
    assert "train" in help_run.stdout
