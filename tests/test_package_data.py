"""Package data is found without running the package that ships it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from iocfeed.package_data import package_folder


def test_the_folder_of_an_installed_package_holds_its_files() -> None:
    folder = package_folder("pymispwarninglists")
    assert (folder / "data" / "misp-warninglists" / "lists").is_dir()


def test_a_package_that_is_not_installed_is_named() -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_package_here"):
        package_folder("no_such_package_here")


def test_reading_the_catalogues_does_not_import_jsonschema() -> None:
    """Importing ``pymispgalaxies`` or ``pymispwarninglists`` imports ``jsonschema``, which
    costs every process about 2 s of CPU at start; the data is read without them."""
    script = (
        "import sys\n"
        "import iocfeed.cli.main\n"
        "from iocfeed.indicators.attack import catalogue\n"
        "from iocfeed.lifecycle.misp_warninglists import misp_catalogue, misp_entries\n"
        "assert catalogue() and misp_catalogue() and misp_entries('public-dns-v4').networks\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "    {'jsonschema', 'pymispgalaxies', 'pymispwarninglists'})\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
