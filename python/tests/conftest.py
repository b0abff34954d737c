"""Shared fixtures: where the build tree and the sources are (run_pytest.sh
sets MOELAB_BUILD_DIR and MOELAB_SOURCE_DIR; defaults assume ./build)."""
import os
import pathlib

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("MOELAB_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BUILD_DIR = pathlib.Path(os.environ.get("MOELAB_BUILD_DIR", SOURCE_DIR / "build"))


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR


@pytest.fixture(scope="session")
def bin_dir():
    """The experiment binaries (MOELAB_BUILD_EXPERIMENTS, on by default)."""
    path = BUILD_DIR / "bin"
    if not (path / "softmax-exact").exists():
        pytest.skip(f"experiment binaries not built in {path} (MOELAB_BUILD_EXPERIMENTS=OFF)")
    return path


@pytest.fixture(scope="session")
def reference_program():
    path = os.environ.get("MOELAB_PYTHON_REFERENCE", str(BUILD_DIR / "python" / "moelab_python_reference"))
    if not os.path.exists(path):
        pytest.fail(f"the C++ reference program {path} is missing: build the target moelab_python_reference")
    return path
