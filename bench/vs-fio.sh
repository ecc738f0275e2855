#!/usr/bin/env bash
# bench/vs-fio.sh [DIR] — the engine's storage bandwidth next to fio's, same filesystem, same run.
#
#   1. fio, ioengine=io_uring direct=1, bs = chunk size, total queue depth DEPTH (FILES jobs of
#      iodepth DEPTH/FILES): FIO_RUNTIME seconds (default: the engine's DURATION) of sequential
#      writes of one new FILE_MIB file per job and loop (fsync at the end, inside fio's runtime;
#      the engine syncs each object), then as long of sequential reads looping over such files.
#   2. kv-cache in a storage-only configuration (--gpu-mem-gb 0 --cpu-mem-gb 0 --generation-mode none)
#      with the same chunk size, and --max-inflight-mib = DEPTH x CHUNK_MIB so its total queue depth
#      is at most fio's: a write phase (--prefill-only, no multi-turn, no prefix caching) and a read
#      phase (--decode-only). The write phase runs once per payload in PAYLOADS (default "full
#      stamped": --payload full, the default, generates every byte; stamped writes fio's kind of
#      data, a random base with a stamp per 4 KiB block; docs/performance.md "Payload generator").
#   3. fio again for writes, in the engine's layout (FIO_LAYOUT=1, default): USERS jobs of iodepth
#      DEPTH/USERS, each writing new files of the engine's mean object size (its write phase's bytes
#      / write operations, rounded to the chunk), preallocated (fallocate, as the engine's
#      io_uring + O_DIRECT path does) and fsynced one by one, as the engine writes objects.
#   4. A side-by-side table: GiB/s for read and write, ratio engine/fio, CPU seconds per GiB moved and
#      peak RSS (both measured the same way for fio and the engine, with /usr/bin/time when present).
#      The engine has two figures: its tier bandwidth (whole objects completed in the window, the
#      run's own metric) and its I/O path's (io.window_chunk_bytes: chunk I/Os completed in the
#      window, as fio counts); objects still in flight at the stop count only in the second.
#      The load average before and after is printed with the table (a loaded machine is noisy).
#
# DIR defaults to <repo>/results/vs-fio (created; everything written under it is removed at the end,
# except the JSON/log files in DIR/out). Knobs (environment): KV_CACHE (binary, default
# <repo>/build/bin/kv-cache), CHUNK_MIB=8, DEPTH=16, FILES=4, FILE_MIB=512, ENGINE=io_uring,
# DIRECT=1, SYNC=fsync, PAYLOADS="full stamped", USERS=4, MODEL=llama3.1-8b, DURATION=15 (seconds per engine phase),
# FIO_RUNTIME=$DURATION (per fio phase), ENGINE_THP=1 (0: the engine's I/O buffers use 4 KiB pages
# like fio's; see docs/performance.md), OUT_DIR (where the JSON/log files and the table go,
# default DIR/out), RAMDEV=1 (run everything on a fresh RAM-backed block device made by
# bench/ramdev.sh, RAMDEV_SIZE default 6G; the results go to results/vs-fio-ramdev/out unless
# OUT_DIR says otherwise). With the defaults the whole script takes about 2 minutes on a 2-core
# VM. If the engine binary is missing, only the fio half runs (and says so).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ ${RAMDEV:-0} == 1 && -z ${RAMDEV_DIR:-} ]]; then
  OUT_DIR=${OUT_DIR:-$REPO/results/vs-fio-ramdev/out}
  mkdir -p "$OUT_DIR"
  OUT_DIR=$(cd "$OUT_DIR" && pwd)
  export OUT_DIR
  exec "$REPO/bench/ramdev.sh" -s "${RAMDEV_SIZE:-6G}" -- "${BASH_SOURCE[0]}" "@RAMDEV@/vs-fio"
fi
DIR=${1:-$REPO/results/vs-fio}
KV=${KV_CACHE:-$REPO/build/bin/kv-cache}
CHUNK_MIB=${CHUNK_MIB:-8}
DEPTH=${DEPTH:-16}
FILES=${FILES:-4}
FILE_MIB=${FILE_MIB:-512}
ENGINE=${ENGINE:-io_uring}
DIRECT=${DIRECT:-1}
SYNC=${SYNC:-fsync}
USERS=${USERS:-4}
MODEL=${MODEL:-llama3.1-8b}
DURATION=${DURATION:-15}
FIO_RUNTIME=${FIO_RUNTIME:-$DURATION}
FIO_LAYOUT=${FIO_LAYOUT:-1}
PAYLOADS=${PAYLOADS:-full stamped}
ENGINE_THP=${ENGINE_THP:-1}
if [[ $ENGINE_THP == 0 ]]; then export KV_IO_NO_THP=1; fi

command -v fio >/dev/null || { echo "vs-fio: fio not found (scripts/install-deps.sh installs it)" >&2; exit 3; }
command -v python3 >/dev/null || { echo "vs-fio: python3 not found" >&2; exit 3; }

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
OUT=${OUT_DIR:-$DIR/out}
WORK=$DIR/work.$$
mkdir -p "$OUT" "$WORK/fio" "$WORK/engine"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

TIME_BIN=""
if [[ -x /usr/bin/time ]]; then TIME_BIN=/usr/bin/time; fi
# run_timed NAME CMD...: runs CMD, records "wall user sys maxrss_kib" in $OUT/NAME.time
run_timed() {
  local name=$1
  shift
  if [[ -n $TIME_BIN ]]; then
    "$TIME_BIN" -f '%e %U %S %M' -o "$OUT/$name.time" "$@"
  else
    local t0=$SECONDS
    "$@"
    echo "$((SECONDS - t0)) 0 0 0" >"$OUT/$name.time"
  fi
}

FIO_QD=$((DEPTH / FILES))
if ((FIO_QD < 1)); then FIO_QD=1; fi
FS_TYPE=$(stat -f -c %T "$WORK" 2>/dev/null || echo unknown)
echo "vs-fio: dir=$DIR (fs $FS_TYPE) chunk=${CHUNK_MIB}MiB total depth=$DEPTH fio=${FILES}x${FILE_MIB}MiB (qd $FIO_QD each) engine=$ENGINE direct=$DIRECT thp=$ENGINE_THP"

# ---------------- fio ----------------
fio_phase() {  # fio_phase NAME write|read JOBS QD FILE_MIB FALLOCATE
  local name=$1 rw=$2 jobs=$3 qd=$4 mib=$5 falloc=$6
  local extra=()
  # Writes go to new files each loop (as the engine writes new objects; overwriting allocated
  # blocks is faster on ext4/XFS and would flatter fio).
  if [[ $rw == write ]]; then extra=(--unlink_each_loop=1); fi
  # JOBS jobs, one file each, iodepth QD: several objects in flight at once, like the engine's
  # concurrent users, with the same total queue depth. end_fsync: one fsync per file written.
  run_timed "$name" fio --name="vsfio_$rw" --directory="$WORK/fio" --ioengine=io_uring --direct=1 \
    --bs="${CHUNK_MIB}M" --iodepth="$qd" --numjobs="$jobs" --rw="$rw" --size="${mib}M" \
    --filename_format='vsfio.$jobnum' --fallocate="$falloc" "${extra[@]}" \
    --end_fsync=1 --time_based --runtime="$FIO_RUNTIME" --group_reporting --output-format=json \
    --output="$OUT/$name.json" >/dev/null
  rm -rf "$WORK/fio"
  mkdir -p "$WORK/fio"
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "vs-fio: fio write ..."
fio_phase fio_write write "$FILES" "$FIO_QD" "$FILE_MIB" none
echo "vs-fio: fio read ..."
fio_phase fio_read read "$FILES" "$FIO_QD" "$FILE_MIB" none

# ---------------- engine ----------------
ENGINE_OK=0
if [[ -x $KV ]]; then
  common=(--model "$MODEL" --num-users "$USERS" --duration "$DURATION" --seed 42
    --gpu-mem-gb 0 --cpu-mem-gb 0 --generation-mode none
    --io-engine "$ENGINE" --io-depth "$DEPTH" --io-chunk-mib "$CHUNK_MIB" --sync-mode "$SYNC"
    --max-inflight-mib "$((DEPTH * CHUNK_MIB))" --cache-dir "$WORK/engine")
  if [[ $DIRECT == 1 ]]; then common+=(--direct-io); fi
  ENGINE_OK=1
  WRITE_RUNS=""
  for payload in $PAYLOADS; do
    name=engine_write
    [[ -n $WRITE_RUNS ]] && name=engine_write_$payload
    echo "vs-fio: engine write phase (${DURATION}s, --payload $payload) ..."
    if run_timed "$name" "$KV" "${common[@]}" --payload "$payload" --prefill-only --disable-multi-turn \
      --disable-prefix-caching --output "$OUT/$name.json" >"$OUT/$name.log" 2>&1; then
      WRITE_RUNS+="$name:$payload "
    else
      echo "vs-fio: engine write phase (--payload $payload) failed (see $OUT/$name.log)"
      [[ $name == engine_write ]] && ENGINE_OK=0 && break
    fi
  done
  if [[ $ENGINE_OK == 1 ]]; then
    echo "vs-fio: engine read phase (${DURATION}s, after pre-population) ..."
    run_timed engine_read "$KV" "${common[@]}" --decode-only --disable-multi-turn --disable-prefix-caching \
      --output "$OUT/engine_read.json" >"$OUT/engine_read.log" 2>&1 || { ENGINE_OK=0; echo "vs-fio: engine read phase failed (see $OUT/engine_read.log)"; }
  fi
else
  echo "vs-fio: engine binary $KV not found: fio half only (build it with scripts/build.sh)"
fi

# ---------------- fio in the engine's layout ----------------
LAYOUT_MIB=0
if [[ $ENGINE_OK == 1 && $FIO_LAYOUT == 1 ]]; then
  LAYOUT_MIB=$(python3 - "$OUT/engine_write.json" "$CHUNK_MIB" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
ops = j["summary"]["cache_stats"].get("write_iops", 0)
gib = j["summary"]["cache_stats"].get("tier_storage_kv_bytes_written_gb", 0)
chunk = int(sys.argv[2])
print(max(chunk, round(gib * 1024 / ops / chunk) * chunk) if ops else 0)
PY
)
  if ((LAYOUT_MIB > 0)); then
    LAYOUT_QD=$((DEPTH / USERS))
    if ((LAYOUT_QD < 1)); then LAYOUT_QD=1; fi
    echo "vs-fio: fio write in the engine's layout (${USERS} jobs x qd $LAYOUT_QD, new ${LAYOUT_MIB} MiB files, fallocate, fsync each) ..."
    fio_phase fio_write_layout write "$USERS" "$LAYOUT_QD" "$LAYOUT_MIB" native
  fi
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------- table ----------------
python3 - "$OUT" "$ENGINE_OK" "$USERS" "$LAYOUT_MIB" "$FILES" "$FILE_MIB" "$LOAD_BEFORE" "$LOAD_AFTER" "${WRITE_RUNS:-}" <<'PY'
import json, os, sys
out, engine_ok, users = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
layout_mib, files, file_mib = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
load_before, load_after = sys.argv[7], sys.argv[8]
write_runs = [r.split(":") for r in sys.argv[9].split()]  # (file stem, payload)
GiB = 1024 ** 3

def timefile(name):
    try:
        wall, user, sys_, rss = open(os.path.join(out, name + ".time")).read().split()[:4]
        return float(wall), float(user) + float(sys_), int(rss) * 1024
    except Exception:
        return None, None, None

def fio(rw, name=None):
    name = name or f"fio_{rw}"
    j = json.load(open(os.path.join(out, f"{name}.json")))["jobs"][0]
    d = j[rw]
    gib = d["io_bytes"] / GiB
    bw = d["bw_bytes"] / GiB
    wall, cpu, rss = timefile(name)
    if cpu is None or cpu == 0:
        cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100.0 * j["job_runtime"] / 1000.0
    return dict(gibps=bw, gib=gib, cpu=cpu, rss=rss)

def engine(rw, name=None):
    name = name or f"engine_{rw}"
    j = json.load(open(os.path.join(out, f"{name}.json")))
    cs = j["summary"]["cache_stats"]
    key = "tier_storage_read_bandwidth_gbps" if rw == "read" else "tier_storage_write_bandwidth_gbps"
    res = j.get("resources", {})
    moved = (cs.get("tier_storage_kv_bytes_read_gb", 0) or 0) + (cs.get("tier_storage_kv_bytes_written_gb", 0) or 0)
    extra = 0.0
    if rw == "read":  # --decode-only pre-populates users x 10 entries of 2048 tokens before the timed run
        bpt = j.get("config", {}).get("bytes_per_token")
        if bpt:
            extra = users * 10 * 2048 * bpt / GiB
    wall, cpu, rss = timefile(name)
    if cpu is None or cpu == 0:
        cpu = res.get("cpu_seconds")
    if not rss:
        rss = res.get("peak_rss_bytes")
    io = j.get("io", {})
    el = j["summary"].get("elapsed_time") or 0
    wcb = io.get("window_chunk_bytes", {}).get("write" if rw == "write" else "read")
    chunk = wcb / GiB / el if wcb is not None and el > 0 else None
    return dict(gibps=cs.get(key, 0.0), chunk_gibps=chunk, gib=moved + extra, cpu=cpu, rss=rss,
                backend=io.get("backend", "?"), fallbacks=io.get("fallbacks", []),
                payload=io.get("payload", "full"))

def fmt(v, f="{:.3f}"):
    return "-" if v is None else f.format(v)

rows = []  # (phase, yardstick, fio, engine)
yardsticks = {"write": [(f"fio {files}x{file_mib} MiB", fio("write"))], "read": [(f"fio {files}x{file_mib} MiB", fio("read"))]}
if layout_mib > 0:
    yardsticks["write"].append((f"fio layout {users}x{layout_mib} MiB", fio("write", "fio_write_layout")))
for rw in ("write", "read"):
    runs = write_runs if rw == "write" else [("engine_read", "full")]
    if not engine_ok:
        runs = [(None, None)]
    for stem, payload in runs:
        e = engine(rw, stem) if stem else None
        for name, f in yardsticks[rw]:
            rows.append((rw if rw == "read" else f"write ({payload})" if payload else rw, name, f, e))

def pct(a, b):
    return a / b if a is not None and b else None

print()
print(f"{'phase':<17} {'yardstick':<24} {'fio GiB/s':>9} {'engine GiB/s':>12} {'engine/fio':>10} "
      f"{'eng I/O GiB/s':>13} {'I/O/fio':>8} {'fio CPU s/GiB':>13} {'eng CPU s/GiB':>13} "
      f"{'fio RSS MiB':>11} {'eng RSS MiB':>11}")
for rw, name, f, e in rows:
    fc = f["cpu"] / f["gib"] if f["gib"] else None
    ec = (e["cpu"] / e["gib"]) if e and e["gib"] and e["cpu"] is not None else None
    eg = e["gibps"] if e else None
    ecg = e["chunk_gibps"] if e else None
    print(f"{rw:<17} {name:<24} {fmt(f['gibps']):>9} {fmt(eg):>12} {fmt(pct(eg, f['gibps']), '{:.1%}'):>10} "
          f"{fmt(ecg):>13} {fmt(pct(ecg, f['gibps']), '{:.1%}'):>8} {fmt(fc):>13} {fmt(ec):>13} "
          f"{fmt(f['rss'] / 2**20 if f['rss'] else None, '{:.0f}'):>11} "
          f"{fmt(e['rss'] / 2**20 if e and e['rss'] else None, '{:.0f}'):>11}")
for rw, name, f, e in rows:  # the figure issue 16 item 3 asks for (docs/performance.md)
    if rw.startswith("write") and not name.startswith("fio layout") and e and f["gib"] and e["gib"] and e["cpu"] is not None:
        print(f"{rw} vs {name}: engine {fmt(pct(e['gibps'], f['gibps']), '{:.1%}')} (chunk level "
              f"{fmt(pct(e['chunk_gibps'], f['gibps']), '{:.1%}')}) of fio's bandwidth at "
              f"{e['cpu'] / e['gib']:.3f} vs fio's {f['cpu'] / f['gib']:.3f} CPU s/GiB "
              "(issue 16 target: >= 95 % at equal or lower CPU)")
print(f"\nload average (1/5/15 min) before: {load_before}; after: {load_after}")
print("engine GiB/s = whole objects completed in the window (the run's tier bandwidth); eng I/O GiB/s ="
      " chunk I/Os completed in the window (io.window_chunk_bytes, as fio counts).")
print("write (full) = --payload full, every byte generated (the default); write (stamped) = --payload stamped,"
      " fio's kind of data (docs/performance.md).")
if engine_ok:
    e = rows[0][3]
    print(f"engine backend: {e['backend']}" + (f"; fallbacks: {'; '.join(e['fallbacks'])}" if e["fallbacks"] else ""))
    print("engine CPU s/GiB counts every byte the process moved (read phase: incl. the --decode-only pre-population).")
else:
    print("\nengine: not run (binary missing or failed); fio figures only.")
summary = {f"{rw} / {name}": {"fio_gibps": f["gibps"], "engine_gibps": e["gibps"] if e else None,
                              "engine_io_gibps": e["chunk_gibps"] if e else None,
                              "ratio": pct(e["gibps"] if e else None, f["gibps"])}
           for rw, name, f, e in rows}
summary["load_average"] = {"before": load_before, "after": load_after}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
PY
echo "vs-fio: raw results in $OUT"
