#!/usr/bin/env bash
# Quick start: install dependencies, build (Release), run a short default kv-cache benchmark.
# Results land in ./results/quickstart/ (JSON) and the summary is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
mkdir -p results/quickstart
build/bin/kv-cache --help | head -n 5
