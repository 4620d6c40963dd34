"""Configuration from the environment: NAME or NAME_FILE, and bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from raidwatch.lib.env import env_bool, env_choice, env_int, env_str

NAME = "RAIDWATCH_TEST_SETTING"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.delenv(f"{NAME}_FILE", raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "setting.txt"
    path.write_text(text, encoding="utf-8")
    return path


# env_str


def test_an_unset_variable_gives_the_default() -> None:
    assert env_str(NAME) is None
    assert env_str(NAME, "fallback") == "fallback"


def test_a_variable_gives_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "from-the-environment")
    assert env_str(NAME, "fallback") == "from-the-environment"


def test_an_empty_variable_is_a_value_not_a_missing_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "")
    assert env_str(NAME, "fallback") == ""


def test_a_file_variable_gives_the_file_contents_without_the_trailing_newline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(f"{NAME}_FILE", str(write(tmp_path, "from-a-secret-file\n")))
    assert env_str(NAME, "fallback") == "from-a-secret-file"


def test_setting_both_the_variable_and_its_file_is_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(NAME, "one")
    monkeypatch.setenv(f"{NAME}_FILE", str(write(tmp_path, "two")))
    with pytest.raises(ImproperlyConfigured) as caught:
        env_str(NAME)
    assert NAME in str(caught.value)
    assert f"{NAME}_FILE" in str(caught.value)


def test_a_file_that_does_not_exist_is_refused_naming_the_variable_and_the_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-secret"
    monkeypatch.setenv(f"{NAME}_FILE", str(missing))
    with pytest.raises(ImproperlyConfigured) as caught:
        env_str(NAME)
    assert f"{NAME}_FILE" in str(caught.value)
    assert str(missing) in str(caught.value)


def test_a_file_variable_naming_a_directory_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(f"{NAME}_FILE", str(tmp_path))
    with pytest.raises(ImproperlyConfigured, match=f"{NAME}_FILE"):
        env_str(NAME)


def test_a_file_that_is_not_text_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfe\x00secret")
    monkeypatch.setenv(f"{NAME}_FILE", str(path))
    with pytest.raises(ImproperlyConfigured, match=f"{NAME}_FILE"):
        env_str(NAME)


# env_bool


@pytest.mark.parametrize("text", ["1", "true", "TRUE", "yes", "on", " 1 "])
def test_a_true_word_turns_a_flag_on(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(NAME, text)
    assert env_bool(NAME, False) is True


@pytest.mark.parametrize("text", ["0", "false", "No", "off", ""])
def test_a_false_word_turns_a_flag_off(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(NAME, text)
    assert env_bool(NAME, True) is False


def test_an_unset_flag_keeps_its_default() -> None:
    assert env_bool(NAME, True) is True
    assert env_bool(NAME, False) is False


def test_a_flag_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(f"{NAME}_FILE", str(write(tmp_path, "yes\n")))
    assert env_bool(NAME, False) is True


@pytest.mark.parametrize("text", ["maybe", "2", "enabled", "y e s"])
def test_a_flag_that_is_neither_on_nor_off_is_refused_naming_the_variable_and_the_value(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv(NAME, text)
    with pytest.raises(ImproperlyConfigured) as caught:
        env_bool(NAME, False)
    assert NAME in str(caught.value)
    assert repr(text) in str(caught.value)


# env_int


def test_a_number_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, " 42 ")
    assert env_int(NAME, 7) == 42


def test_an_unset_number_keeps_its_default() -> None:
    assert env_int(NAME, 7, minimum=0, maximum=8) == 7


def test_a_number_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(f"{NAME}_FILE", str(write(tmp_path, "12\n")))
    assert env_int(NAME, 7) == 12


@pytest.mark.parametrize("text", ["twelve", "1.5", "", "0x10", "1e3"])
def test_a_number_that_is_not_whole_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv(NAME, text)
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be a whole number"):
        env_int(NAME, 7)


def test_a_number_above_the_maximum_is_refused_naming_the_variable_and_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(NAME, "12")
    with pytest.raises(ImproperlyConfigured) as caught:
        env_int(NAME, 8, minimum=0, maximum=8)
    assert NAME in str(caught.value)
    assert "at most 8" in str(caught.value)


def test_a_number_below_the_minimum_is_refused_naming_the_variable_and_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(NAME, "-1")
    with pytest.raises(ImproperlyConfigured) as caught:
        env_int(NAME, 8, minimum=0, maximum=8)
    assert NAME in str(caught.value)
    assert "at least 0" in str(caught.value)


@pytest.mark.parametrize("text", ["0", "8"])
def test_the_limits_themselves_are_allowed(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(NAME, text)
    assert env_int(NAME, 5, minimum=0, maximum=8) == int(text)


# env_choice


def test_a_choice_from_the_list_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "production")
    assert env_choice(NAME, "embedded", ("embedded", "production")) == "production"


def test_an_unset_choice_keeps_its_default() -> None:
    assert env_choice(NAME, "embedded", ("embedded", "production")) == "embedded"


def test_a_choice_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(f"{NAME}_FILE", str(write(tmp_path, "production\n")))
    assert env_choice(NAME, "embedded", ("embedded", "production")) == "production"


@pytest.mark.parametrize("text", ["prod", "Production", "staging"])
def test_a_choice_not_in_the_list_is_refused_naming_the_variable_and_the_choices(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv(NAME, text)
    with pytest.raises(ImproperlyConfigured) as caught:
        env_choice(NAME, "embedded", ("embedded", "production"))
    message = str(caught.value)
    assert NAME in message
    assert "embedded" in message
    assert "production" in message
    assert repr(text) in message


def test_a_choice_and_its_file_together_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(NAME, "embedded")
    monkeypatch.setenv(f"{NAME}_FILE", str(write(tmp_path, "production")))
    with pytest.raises(ImproperlyConfigured, match=f"{NAME}_FILE"):
        env_choice(NAME, "embedded", ("embedded", "production"))
