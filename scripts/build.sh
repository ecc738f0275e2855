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
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DKV_SANITIZE="${KV_SANITIZE:-}" 1>&2
# Build output goes to stderr so callers can capture the last stdout line (the build directory)
# while CI logs still show the compile progress.
cmake --build "$BUILD_DIR" -j "$JOBS" 1>&2
echo "$BUILD_DIR"
