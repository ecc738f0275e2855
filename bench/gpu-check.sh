#!/usr/bin/env bash
# Everything this repository can check on a machine with an NVIDIA GPU, as one prepared script:
#   1. builds (Release) the engine, the GPU benchmark tool and the GPU test binaries;
#   2. the suite's GPU tests: the CUDA tier on a real device (CudaDevice.*, GpuDeviceE2E.*) and,
#      for context, the same tier over the fake driver (FakeCuda.*, GpuE2E.*); without a device
#      the real-device tests report SKIPPED, and this script says so and stops before step 3;
#   3. bench/gpu-tier.sh (transfer bandwidth vs the simulated model, three-tier run).
# Usage: bench/gpu-check.sh        Output: results/gpu-check/ (logs) and the console.
# Environment: BUILD (default build), JOBS (default: all cores), SKIP_BUILD=1 to use an existing build.
# Needs only the NVIDIA driver (libcuda.so.1), no CUDA toolkit. About 5 minutes after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
JOBS="${JOBS:-$(nproc)}"
LOG="${OUT:-results/gpu-check}"
mkdir -p "$LOG"
nvidia-smi --query-gpu=name,memory.total,driver_version,pcie.link.gen.current,pcie.link.width.current \
  --format=csv 2>/dev/null | tee "$LOG/nvidia-smi.txt" || echo "(nvidia-smi not available)"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release > "$LOG/cmake.log"
  cmake --build "$BUILD" -j "$JOBS" --target kv-cache kv-gpu-bench test_tier test_e2e_gpu > "$LOG/build.log"
fi
status=0
for t in test_tier test_e2e_gpu; do
  echo "== $t"
  "$BUILD/tests/$t" --gtest_filter='CudaDevice.*:GpuDeviceE2E.*:FakeCuda.*:GpuE2E.*' 2>&1 | tee "$LOG/$t.log" || status=1
done
if grep -q '^\[  SKIPPED \] \(CudaDevice\|GpuDeviceE2E\)' "$LOG"/test_*.log; then
  echo "gpu-check: the real-device tests were SKIPPED (no usable CUDA driver/device, see above); no GPU numbers." >&2
  exit 2
fi
[ "$status" = 0 ] || { echo "gpu-check: GPU tests failed (logs in $LOG)" >&2; exit 1; }
echo "== bench/gpu-tier.sh"
BUILD="$BUILD" OUT="$LOG/bench" bench/gpu-tier.sh 2>&1 | tee "$LOG/gpu-tier.txt"
