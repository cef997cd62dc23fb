"""Import every module of the installed cellmech (and its napari plugin) from outside the
repository: a subpackage missing from the wheel fails here even though the tests, which import
the source tree, pass."""

import importlib
import pkgutil
import sys
from pathlib import Path

repo = Path(__file__).resolve().parents[1]
for top in ("cellmech", "napari_cellmech"):
    package = importlib.import_module(top)
    where = Path(package.__file__).resolve()
    if repo in where.parents and ".venv" not in where.parts:
        sys.exit(f"{top} was imported from the source tree ({where}), not the installed wheel")
    names = [
        m.name
        for m in pkgutil.walk_packages(package.__path__, f"{top}.")
        if not m.name.endswith(".__main__")  # runs the command line when imported
    ]
    for name in names:
        importlib.import_module(name)
    print(f"installed {top}: {len(names) + 1} modules import ({where.parent})")
