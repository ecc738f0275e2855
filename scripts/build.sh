#!/usr/bin/env bash
# Configures and builds into ./build (or $BUILD_DIR). KV_SANITIZE=address,undefined|thread builds a
# sanitizer variant into ./build-<sanitizers> instead.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TYPE="${BUILD_TYPE:-Release}"
if [ -n "${KV_SANITIZE:-}" ]; then
  BUILD_DIR="${BUILD_DIR:-build-${KV_SANITIZE//,/-}}"
  BUILD_TYPE=RelWithDebInfo
else
  BUILD_DIR="${BUILD_DIR:-build}"
fi
JOBS="${JOBS:-$(nproc)}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DKV_SANITIZE="${KV_SANITIZE:-}" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "$BUILD_DIR"
