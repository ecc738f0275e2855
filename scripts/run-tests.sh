#!/usr/bin/env bash
# Install dependencies, build, run every test with ctest. KV_SANITIZE=address,undefined runs the
# suite under sanitizers (separate build directory).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_DIR=$(scripts/build.sh | tail -n 1)
cd "$BUILD_DIR"
# install-deps.sh installed chromium and numpy: the browser and numpy checks must run here, not
# skip.
export KV_REQUIRE_CHROMIUM=1 KV_REQUIRE_NUMPY=1
ctest --output-on-failure -j "${CTEST_JOBS:-2}" --timeout 600
