#!/usr/bin/env bash
# The test suite (the README's test command; .ci/run runs exactly this, after fmt, clippy, docs
# and benches): the Rust workspace's tests, then the Python package's tests with pytest, in a
# virtual environment made from crates/hybrid-adjoint-py/requirements.txt (maturin, numpy and
# pytest, pinned) into which the package is built and installed from this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each package's integration tests are modules of one binary, tests/all.rs (`autotests = false`):
# a test file that is neither listed there nor a target of its own in Cargo.toml would never be
# built or run, so refuse it here.
missing=0
for all in tests/all.rs crates/*/tests/all.rs; do
    dir="$(dirname "$all")"
    for f in "$dir"/*.rs; do
        name="$(basename "$f" .rs)"
        [ "$name" = all ] && continue
        if ! grep -qx "mod $name;" "$all" && ! grep -qx "name = \"$name\"" "$dir/../Cargo.toml"; then
            echo "$f is not a module of $all nor a test target of its own: it would never run" >&2
            missing=1
        fi
    done
done
[ "$missing" = 0 ]

echo "== cargo test --workspace (at ${SECONDS}s)"
cargo test --workspace

echo "== Python package: build, install, pytest (at ${SECONDS}s)"
PY_CRATE=crates/hybrid-adjoint-py
VENV="${HYBRID_ADJOINT_VENV:-target/py-venv}"
PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "$PYTHON not found: the Python tests need Python >= 3.11 with venv" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
VENV="$(cd "$VENV" && pwd)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$PY_CRATE/requirements.txt"
# The pinned maturin builds the extension in this workspace's target directory (its build
# backend runs the `maturin` program: the venv's bin goes first on PATH), with the dev profile:
# its settings are the test profile's (Cargo.toml), so the crates `cargo test` just compiled are
# reused, not compiled again for release (minutes on 2 cores). Not with `--profile test`: cargo
# then builds the library as a test harness executable, which Python cannot load. A user's
# `pip install crates/hybrid-adjoint-py` builds for release as usual.
export PATH="$VENV/bin:$PATH"
MATURIN_PEP517_ARGS="--profile dev" "$VENV/bin/python" -m pip install --quiet \
    --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall "./$PY_CRATE"
"$VENV/bin/python" -m pytest -rs "$PY_CRATE/tests"
