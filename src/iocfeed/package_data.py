"""Files shipped inside installed packages, found without running the package.

``pymispgalaxies`` and ``pymispwarninglists`` are read for their data only (the ATT&CK
catalogue, the MISP warninglists). Importing either imports ``jsonschema``, which builds
its format grammars for about 2 s of CPU, in every process that starts (each CLI command,
import worker and server worker), so their folders are located from the import system's
spec instead, which does not execute them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_folder(name: str) -> Path:
    """The folder of the installed package ``name``, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the package {name} is not installed", name=name)
    return Path(next(iter(spec.submodule_search_locations)))
