"""The core imports without Streamlit (and without umap): only explorer.ui may use them."""
from __future__ import annotations

import pkgutil
import subprocess
import sys

import explorer

CORE_MODULES = sorted(m.name for m in pkgutil.walk_packages(explorer.__path__, "explorer.")
                      if not m.name.startswith("explorer.ui") and m.name != "explorer.__main__")


def test_core_modules_import_without_streamlit_or_umap():
    code = ("import sys, importlib\n"
            f"for name in {CORE_MODULES!r}:\n"
            "    importlib.import_module(name)\n"
            "heavy = [m for m in ('streamlit', 'umap', 'numba') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "explorer.training" in CORE_MODULES and "explorer.cli" in CORE_MODULES
