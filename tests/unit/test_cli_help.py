"""``soulsync --help`` tells a headless user the commands there are."""
from __future__ import annotations

import pytest

from soulsync.app import main


def test_help_names_every_headless_command(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for command in ("sync", "sim", "check", "inspect"):
        assert f"\n  {command} " in out, out  # listed with what it does
    assert "--write-config" in out
