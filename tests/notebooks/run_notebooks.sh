#!/usr/bin/env bash
# Executes every notebook headless (jupyter nbconvert --execute) against the
# moelab Python module of the build tree, then checks the executed copies:
# a notebook that raises -- including its own consistency assertions --
# fails the test, and so does one without an embedded figure (a figure that
# only went to a non-interactive backend would leave no image output).
set -euo pipefail
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
work="$build_dir/notebook-test"
rm -rf "$work"
mkdir -p "$work/executed"
# Debian's jupyter and its python3 kernel (numpy, pandas, matplotlib) come
# first on PATH, ahead of any other python3 (e.g. a pyenv shim without them).
export PATH="/usr/bin:$PATH"
export PYTHONPATH="$build_dir/python${PYTHONPATH:+:$PYTHONPATH}"
export MOELAB_TONEDATA="$source_dir/data/tonedata/tonedata.csv"
export PYDEVD_DISABLE_FILE_VALIDATION=1
# The notebooks choose the inline backend themselves; an inherited
# MPLBACKEND=Agg must not override it.
unset MPLBACKEND
python3 -c "import moelab" || { echo "run_notebooks: moelab is not importable from $build_dir/python" >&2; exit 1; }
cd "$source_dir/notebooks"
notebooks=(./*.ipynb)
for notebook in "${notebooks[@]}"; do
  start=$(date +%s)
  jupyter-nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
    --output-dir "$work/executed" "$notebook" 2> "$work/$(basename "$notebook" .ipynb).log" ||
    { cat "$work/$(basename "$notebook" .ipynb).log" >&2; exit 1; }
  echo "executed $(basename "$notebook") in $(( $(date +%s) - start )) s"
done
python3 - "$work/executed" "${#notebooks[@]}" <<'PY'
import json, pathlib, sys
folder, expected = pathlib.Path(sys.argv[1]), int(sys.argv[2])
books = sorted(folder.glob("*.ipynb"))
assert len(books) == expected, f"{len(books)} executed notebooks, expected {expected}"
for book in books:
    cells = json.loads(book.read_text())["cells"]
    images = sum("image/png" in out.get("data", {}) for c in cells if c["cell_type"] == "code"
                 for out in c.get("outputs", []))
    errors = [out for c in cells if c["cell_type"] == "code" for out in c.get("outputs", [])
              if out.get("output_type") == "error"]
    print(f"{book.name}: {images} embedded figure(s)")
    if errors or images == 0:
        sys.exit(f"run_notebooks: {book.name} has {len(errors)} error output(s) and {images} image output(s)")
PY
