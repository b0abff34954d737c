"""The package works after `cmake --install`, away from the build tree."""
import os
import subprocess
import sys

import pytest

from conftest import BUILD_DIR


def test_installed_package_imports_and_fits(tmp_path):
    if not (BUILD_DIR / "CMakeCache.txt").exists():
        pytest.fail(f"no configured build tree at {BUILD_DIR}")
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", str(BUILD_DIR), "--prefix", str(prefix)], check=True,
                   capture_output=True)
    sites = list(prefix.glob("lib/python3*/*-packages"))
    assert len(sites) == 1 and (sites[0] / "moelab" / "__init__.py").exists(), sites
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(sites[0])
    code = ("import moelab, numpy as np; "
            "d = moelab.simulate('softmax-exact', 300, seed=1); "
            "m = moelab.MixtureOfExperts(n_init=2, random_state=0).fit(d.X, d.y); "
            "print(moelab.__file__, m.termination_)")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True,
                         capture_output=True, text=True).stdout
    assert out.startswith(str(sites[0])) and out.split()[-1] == "converged", out
