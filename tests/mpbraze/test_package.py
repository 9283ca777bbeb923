"""The production package (`pip install .`, the image) carries the product, no dev tooling."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
# The image's build context (Dockerfile, first stage), plus the checkout-only tooling so that
# leaving it out is the package's doing.
SOURCES = ["pyproject.toml", "README.md", "mpbraze", "connections", "mapping", "devtools"]
DEV_TOOLING = ("devtools/",)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel . --no-deps` from a clean copy (a checkout's build/ folder must not leak in);
    offline: setuptools comes from the dev install."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "-q", "-w", str(out)], cwd=source, check=True, capture_output=True)
    return next(out.glob("mpbraze-*.whl"))


def wheel_metadata(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode()).get_all("Requires-Dist") or []


def test_the_wheel_carries_no_fake_braze_no_demo_and_no_devtools(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()

    assert [n for n in names if n.startswith(DEV_TOOLING)] == []
    assert not any("fake_braze" in n or "commands/demo" in n or "devstack" in n for n in names)


def test_the_wheel_carries_templates_static_files_examples_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())

    for name in [
        "mpbraze/templates/base.html",
        "mpbraze/templates/registration/login.html",
        "mpbraze/templates/connections/_hourly_chart.svg",
        "mpbraze/static/mpbraze.css",
        "mpbraze/static/copy.js",
        "mapping/examples/purchase.json",
        "connections/migrations/0001_initial.py",
        "connections/management/commands/ensure_admin.py",
    ]:
        assert name in names


def test_the_wheel_requires_whitenoise_and_the_mparticle_sdk_only_for_development(
    wheel: Path,
) -> None:
    requires = wheel_metadata(wheel)
    production = [r for r in requires if "extra ==" not in r]

    assert "whitenoise==6.12.0" in production
    assert not [r for r in production if r.startswith(("mparticle", "pytest", "playwright"))]
    assert 'mparticle==0.16.1; extra == "dev"' in requires


def test_an_install_from_the_wheel_has_no_dev_commands_and_collects_hashed_static_files(
    wheel: Path, tmp_path: Path
) -> None:
    site, app = tmp_path / "site", tmp_path / "app"
    zipfile.ZipFile(wheel).extractall(site)
    app.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))}
    env |= {"PYTHONPATH": str(site), "DJANGO_SETTINGS_MODULE": "mpbraze.settings"}
    # As the image's build step: throwaway development settings, STATIC_ROOT of its own.
    env |= {"DEBUG": "1", "MPBRAZE_LOCAL_DIR": str(tmp_path / "local")}
    env |= {"STATIC_ROOT": str(tmp_path / "static")}

    def django(*args: str) -> str:
        command = [sys.executable, "-m", "django", *args]
        result = subprocess.run(command, cwd=app, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout

    where = django("shell", "--no-imports", "-c", "import mpbraze; print(mpbraze.__file__)")
    assert where.strip() == str(site / "mpbraze" / "__init__.py")
    commands = django("help", "--commands").split()
    assert "ensure_admin" in commands
    assert "fake_braze" not in commands
    assert "demo" not in commands
    django("collectstatic", "--noinput", "--verbosity", "0")
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    assert manifest["mpbraze.css"].startswith("mpbraze.")
    assert (tmp_path / "static" / f"{manifest['admin/css/base.css']}.gz").exists()


def test_a_checkout_has_the_fake_braze_and_demo_commands() -> None:
    assert get_commands()["fake_braze"] == "devtools"
    assert get_commands()["demo"] == "devtools"
