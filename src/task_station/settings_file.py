"""The station's settings file: what the first-run wizard and the Settings dialog save.

Settings come from, in order of precedence: explicit arguments, ``TASK_*`` environment
variables, then this TOML file (``TASK_CONFIG_FILE``, else ``settings.toml`` in the
user's config directory), then the defaults. Secrets never go here: the file holds
only names and choices (the keyring holds the rest), and ``save`` refuses the one
secret-valued setting.

Writes validate the merged result as ``Settings`` first (a bad value changes nothing)
and replace the file atomically.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from platformdirs import user_config_dir

from task_station.domain.errors import ConfigurationError, ValidationError

#: Settings that must never be written to a file.
SECRET_SETTINGS = frozenset({"keyring_password"})


def config_file() -> Path:
    """Where the settings file is (it may not exist yet)."""
    env = os.environ.get("TASK_CONFIG_FILE")
    if env:
        return Path(env).expanduser()
    return Path(user_config_dir("task-station", "TASK Station")) / "settings.toml"


def load(path: Path | None = None) -> dict[str, object]:
    """The file's settings (empty when there is no file)."""
    path = path or config_file()
    if not path.exists():
        return {}
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"settings file {path} is not valid TOML: {exc}") from None


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Decimal | Path):
        return json.dumps(str(value))
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    raise ValidationError(f"cannot store a {type(value).__name__} in the settings file")


def save(changes: Mapping[str, object], path: Path | None = None) -> Path:
    """Merge ``changes`` into the file (None removes a key), after checking that the
    station would accept the result; returns the file's path."""
    from task_station.config import Settings

    secret = sorted(SECRET_SETTINGS & set(changes))
    if secret:
        raise ValidationError(
            f"{', '.join(secret)} is a secret and is never written to the settings file; "
            "the station asks for it (or reads it from the environment) instead"
        )
    path = path or config_file()
    merged = load(path)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    known = set(Settings.model_fields)
    unknown = sorted(set(merged) - known)
    if unknown:
        raise ValidationError(f"unknown setting(s) {', '.join(unknown)}")
    try:
        Settings.model_validate({k: v for k, v in merged.items()})
    except Exception as exc:  # pydantic's ValidationError, named for the trader
        raise ValidationError(f"the settings were not saved: {exc}") from None
    text = "# TASK Station settings (secrets live in the keyring, never here)\n" + "".join(
        f"{key} = {_toml_value(merged[key])}\n" for key in sorted(merged)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
