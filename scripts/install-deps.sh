#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the benchmarks need. Idempotent.
# Works as root; uses sudo otherwise.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake pkg-config git ca-certificates clang-format
  # libraries (anchors-and-dependencies.md §6.1)
  libcli11-dev nlohmann-json3-dev libfmt-dev liburing-dev libxxhash-dev libyaml-cpp-dev
  libsqlite3-dev libzstd-dev libxlsxwriter-dev
  # MPI (OpenMPI)
  libopenmpi-dev openmpi-bin openssh-client
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev fio python3 procps
  # numpy loads our .npy files in tests/io/npy_test.cpp (and runs the reference engine for
  # bench/vs-reference.sh with python3-yaml)
  python3-numpy python3-yaml
  # the HTML report's browser test (headless; tests/e2e/report_html_e2e_test.cpp) and tmux for the
  # terminal tests
  chromium tmux
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: not root and no sudo" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
