#!/usr/bin/env bash
# Quick start: install dependencies, build (Release), run a real 20-second kv-cache benchmark
# (tiny-1b, 8 users, CPU tier 1 GiB, storage in results/quickstart/cache) and print its summary.
# Results: results/quickstart/results.json. Extra arguments are passed to kv-cache (a later flag
# overrides an earlier one), e.g. scripts/run-benchmark.sh --duration 60 --io-engine io_uring.
# SKIP_DEPS=1 skips the dependency installation.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_DEPS:-0}" != 1 ]; then scripts/install-deps.sh; fi
BUILD_DIR=$(scripts/build.sh | tail -n 1)
mkdir -p results/quickstart
exec "$BUILD_DIR/bin/kv-cache" --model tiny-1b --num-users 8 --duration 20 --gpu-mem-gb 0 --cpu-mem-gb 1 \
  --generation-mode none --seed 42 --cache-dir results/quickstart/cache \
  --output results/quickstart/results.json "$@"
