"""Start-up as an operator meets it: the real `raidwatch` command in a fresh process.

Settings are read once per process, so each case runs the command in a
subprocess with a clean environment and its own data directory. None of these
tests touches the test database.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
HOST = "alerts.example.org"
# Variables from the outer environment that would change what start-up does.
_SCRUBBED_PREFIXES = ("RAIDWATCH_", "DATABASE_URL", "REDIS_URL")


def run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    clean |= {"DJANGO_SETTINGS_MODULE": "raidwatch.settings", "RAIDWATCH_DATA_DIR": str(data_dir)} | env
    return subprocess.run(  # noqa: S603 - our own interpreter running our own command
        [sys.executable, "-m", "raidwatch.cli", *args],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_refused_naming(result: subprocess.CompletedProcess[str], variable: str) -> None:
    """Refused with a non-zero exit and one clear line that names the variable, no traceback."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]


def last_line(output: str) -> str:
    # `shell` may print a note about auto-imported models before the output.
    return output.strip().splitlines()[-1]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret_key"
    path.write_text(secrets.token_urlsafe(64) + "\n", encoding="ascii")
    path.chmod(0o600)
    return path


@pytest.fixture
def production(secret_file: Path) -> dict[str, str]:
    """A production environment that is complete, for cases that change one thing in it."""
    return {
        "RAIDWATCH_ENV": "production",
        "RAIDWATCH_SECRET_KEY_FILE": str(secret_file),
        "RAIDWATCH_ALLOWED_HOSTS": HOST,
        "RAIDWATCH_BASE_URL": f"https://{HOST}",
    }


def test_production_without_a_secret_key_refuses_to_start_naming_the_variable(data_dir: Path) -> None:
    result = run(data_dir, "check", RAIDWATCH_ENV="production", RAIDWATCH_ALLOWED_HOSTS=HOST)
    assert_refused_naming(result, "RAIDWATCH_SECRET_KEY")
    # Production never falls back to a generated key.
    assert not (data_dir / "keys" / "secret_key").exists()


def test_production_with_a_short_secret_key_refuses_to_start(data_dir: Path) -> None:
    result = run(
        data_dir,
        "check",
        RAIDWATCH_ENV="production",
        RAIDWATCH_SECRET_KEY="too-short",
        RAIDWATCH_ALLOWED_HOSTS=HOST,
    )
    assert_refused_naming(result, "RAIDWATCH_SECRET_KEY")


def test_production_without_a_base_url_refuses_to_start_naming_the_variable(
    data_dir: Path, production: dict[str, str]
) -> None:
    del production["RAIDWATCH_BASE_URL"]
    assert_refused_naming(run(data_dir, "check", **production), "RAIDWATCH_BASE_URL")


def test_production_without_allowed_hosts_refuses_to_start_naming_the_variable(
    data_dir: Path, production: dict[str, str]
) -> None:
    del production["RAIDWATCH_ALLOWED_HOSTS"]
    assert_refused_naming(run(data_dir, "check", **production), "RAIDWATCH_ALLOWED_HOSTS")


def test_production_with_empty_allowed_hosts_refuses_to_start_naming_the_variable(
    data_dir: Path, production: dict[str, str]
) -> None:
    production["RAIDWATCH_ALLOWED_HOSTS"] = " , "
    assert_refused_naming(run(data_dir, "check", **production), "RAIDWATCH_ALLOWED_HOSTS")


def test_production_with_a_secret_key_file_passes_the_deploy_checks_with_no_warnings(
    data_dir: Path, production: dict[str, str]
) -> None:
    result = run(data_dir, "check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_checks_do_fail_when_production_is_weakened(
    data_dir: Path, production: dict[str, str]
) -> None:
    # The clean result above means something only if the same check can fail.
    production["RAIDWATCH_HSTS_SECONDS"] = "0"
    result = run(data_dir, "check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode != 0
    assert "security.W004" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RAIDWATCH_PUBLIC_RESOLUTION", "12"),
        ("RAIDWATCH_PUBLIC_RESOLUTION", "fine"),
        ("RAIDWATCH_DEBUG", "maybe"),
        ("RAIDWATCH_ENV", "prod"),
        ("RAIDWATCH_LOCATION_RETENTION_HOURS", "0"),
        ("DATABASE_URL", "nonsense"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(data_dir: Path, variable: str, value: str) -> None:
    assert_refused_naming(run(data_dir, "check", **{variable: value}), variable)


def test_a_secret_given_both_directly_and_as_a_file_is_refused(
    data_dir: Path, production: dict[str, str], secret_file: Path
) -> None:
    production["RAIDWATCH_SECRET_KEY"] = secret_file.read_text(encoding="ascii").strip()
    assert_refused_naming(run(data_dir, "check", **production), "RAIDWATCH_SECRET_KEY_FILE")


def test_an_unreadable_secret_file_is_refused_naming_the_variable(
    data_dir: Path, production: dict[str, str], tmp_path: Path
) -> None:
    production["RAIDWATCH_SECRET_KEY_FILE"] = str(tmp_path / "missing")
    assert_refused_naming(run(data_dir, "check", **production), "RAIDWATCH_SECRET_KEY_FILE")


def test_debug_is_refused_in_production(data_dir: Path, production: dict[str, str]) -> None:
    assert_refused_naming(run(data_dir, "check", RAIDWATCH_DEBUG="1", **production), "RAIDWATCH_DEBUG")


def test_private_endpoints_are_refused_in_production(data_dir: Path, production: dict[str, str]) -> None:
    result = run(data_dir, "check", RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS="1", **production)
    assert_refused_naming(result, "RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS")


def test_private_endpoints_are_allowed_in_embedded_mode(data_dir: Path) -> None:
    result = run(data_dir, "check", RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS="1")
    assert result.returncode == 0, result.stderr


# Prints a digest of the secret in use, never the secret itself.
SECRET_DIGEST = (
    "from hashlib import sha256; from django.conf import settings; "
    "print(sha256(settings.SECRET_KEY.encode()).hexdigest())"
)


def test_the_first_embedded_run_generates_an_owner_only_secret_that_later_runs_reuse(data_dir: Path) -> None:
    first = run(data_dir, "shell", "-c", SECRET_DIGEST)
    assert first.returncode == 0, first.stderr
    keys = data_dir / "keys"
    key_file = keys / "secret_key"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    stored = key_file.read_text(encoding="ascii").strip()
    assert len(bytes.fromhex(stored)) >= 50
    assert last_line(first.stdout) == hashlib.sha256(stored.encode()).hexdigest()

    second = run(data_dir, "shell", "-c", SECRET_DIGEST)
    assert second.returncode == 0, second.stderr
    assert last_line(second.stdout) == last_line(first.stdout)
    assert key_file.read_text(encoding="ascii").strip() == stored


def test_two_data_dirs_get_different_secrets(tmp_path: Path) -> None:
    digests = set()
    for name in ("one", "two"):
        result = run(tmp_path / name, "shell", "-c", SECRET_DIGEST)
        assert result.returncode == 0, result.stderr
        digests.add(last_line(result.stdout))
    assert len(digests) == 2


def test_demo_refuses_to_run_in_production(data_dir: Path, production: dict[str, str]) -> None:
    result = run(data_dir, "demo", **production)
    assert result.returncode != 0
    assert "production" in result.stderr
    assert "Traceback" not in result.stderr
    # Refused before it touched the (unmigrated) database, and nothing was printed as created.
    assert "no such table" not in result.stderr
    assert "password" not in result.stdout
