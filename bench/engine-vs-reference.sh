#!/usr/bin/env bash
# The engine issue's target command, measured, next to the reference kv-cache.py figures quoted in
# issue #4 for this class of VM:
#   kv-cache --model llama3.1-8b --num-users 20 --duration 30 --gpu-mem-gb 0 --cpu-mem-gb 0
#            --generation-mode none --max-concurrent-allocs 16 --seed 42
# Reference (quoted, not re-measured here): storage read 2.67 GiB/s, write 0.59 GiB/s, 62 s wall for a
# 30 s run, peak RSS 13 GB, 170 % CPU.
#
# Usage: bench/engine-vs-reference.sh [variant ...]   (default: posix)
#   variants: posix (reference-comparable I/O), uring (io_uring, buffered), direct (io_uring + O_DIRECT)
# Environment: KV_CACHE (binary, default build/bin/kv-cache), RAMDEV=1 (CACHE_DIR on a fresh
# RAM-backed block device, bench/ramdev.sh; RAMDEV_SIZE default 6G), CACHE_DIR (default: $OUT/cache; the
# reference used a temporary directory on the same filesystem), DURATION (default 30), OUT (default
# results/bench). Between variants the script waits until the previous run's files are deleted.
# Wall time and peak RSS come from /usr/bin/time; bandwidths, CPU seconds from the results JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${RAMDEV:-0} == 1 && -z ${RAMDEV_DIR:-} ]]; then  # CACHE_DIR on a RAM device (bench/ramdev.sh)
  exec bench/ramdev.sh -s "${RAMDEV_SIZE:-6G}" -- env CACHE_DIR=@RAMDEV@/cache "$0" "$@"
fi
KV_CACHE="${KV_CACHE:-build/bin/kv-cache}"
DURATION="${DURATION:-30}"
OUT="${OUT:-results/bench}"
CACHE_DIR="${CACHE_DIR:-$OUT/cache}"
mkdir -p "$OUT"
[ -x "$KV_CACHE" ] || { echo "error: $KV_CACHE not built (scripts/build.sh)" >&2; exit 3; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is needed (apt-get install time)" >&2; exit 3; }
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(posix)

summaries=()
for v in "${VARIANTS[@]}"; do
  case "$v" in
    posix) extra=(--io-engine posix) ;;
    uring) extra=(--io-engine io_uring) ;;
    direct) extra=(--io-engine io_uring --direct-io) ;;
    *) echo "unknown variant '$v' (posix, uring, direct)" >&2; exit 2 ;;
  esac
  json="$OUT/engine-vs-reference-$v.json"
  timef="$OUT/engine-vs-reference-$v.time"
  args=(--model llama3.1-8b --num-users 20 --duration "$DURATION" --gpu-mem-gb 0 --cpu-mem-gb 0
        --generation-mode none --max-concurrent-allocs 16 --seed 42 --output "$json" --quiet "${extra[@]}")
  args+=(--cache-dir "$CACHE_DIR")
  # Let the background removal of an earlier run's files (discard I/O) finish first.
  for _ in $(seq 1 120); do compgen -G "$CACHE_DIR/.kv-cache-trash-*" >/dev/null || break; sleep 1; done
  echo "== $v: $KV_CACHE ${args[*]}" >&2
  /usr/bin/time -f "%e %M" -o "$timef" "$KV_CACHE" "${args[@]}" > "$OUT/engine-vs-reference-$v.log" 2>&1 || {
    echo "kv-cache failed (exit $?), see $OUT/engine-vs-reference-$v.log" >&2; exit 6; }
  summaries+=("$v|$json|$timef")
done

python3 - "$DURATION" "${summaries[@]}" <<'PY'
import json, sys
duration = float(sys.argv[1])
ref = {"read": 2.67, "write": 0.59, "wall": 62.0, "rss_gib": 13e9 / 2**30, "cpu_pct": 170.0}
ref_cpu_s = ref["cpu_pct"] / 100 * ref["wall"]
ref_gib = (ref["read"] + ref["write"]) * 30.0
rows = []
for item in sys.argv[2:]:
    name, jpath, tpath = item.split("|")
    j = json.load(open(jpath))
    wall, rss_kb = open(tpath).read().split()[-2:]
    cs = j["summary"]["cache_stats"]
    r = j["resources"]
    rows.append((name, cs["tier_storage_read_bandwidth_gbps"], cs["tier_storage_write_bandwidth_gbps"],
                 float(wall), int(rss_kb) * 1024 / 2**30, r["cpu_seconds"], r["cpu_seconds_per_gib"] or 0.0,
                 j["summary"]["total_requests"], j["summary"]["elapsed_time"], j["io"]["backend"]))
print()
print(f"Target command: llama3.1-8b, 20 users, {duration:.0f} s, GPU 0, CPU 0, generation none, mca 16, seed 42")
hdr = f"{'':28}{'reference':>12}" + "".join(f"{'ours ' + r[0]:>16}" for r in rows) + f"{'target':>22}"
print(hdr)
def line(label, refv, vals, target, fmt="{:.2f}"):
    print(f"{label:28}{fmt.format(refv):>12}" + "".join(f"{fmt.format(v):>16}" for v in vals) + f"{target:>22}")
line("storage read GiB/s", ref["read"], [r[1] for r in rows], ">= reference")
line("storage write GiB/s", ref["write"], [r[2] for r in rows], ">= reference")
line("wall time s", ref["wall"], [r[3] for r in rows], f"<= {duration + 3:.0f}", "{:.1f}")
line("peak RSS GiB", ref["rss_gib"], [r[4] for r in rows], "< 1", "{:.2f}")
line("CPU s", ref_cpu_s, [r[5] for r in rows], "", "{:.1f}")
line("CPU s per GiB moved", ref_cpu_s / ref_gib, [r[6] for r in rows], f"< {ref_cpu_s / ref_gib / 5:.3f}", "{:.3f}")
print(f"{'requests completed':28}{'-':>12}" + "".join(f"{r[7]:>16}" for r in rows))
print(f"{'backend':28}{'python':>12}" + "".join(f"{r[9]:>16}" for r in rows))
print("(reference figures are the ones quoted in issue #4; CPU s = 170 % x 62 s; GiB moved = (2.67 + 0.59) x 30 s)")
PY
