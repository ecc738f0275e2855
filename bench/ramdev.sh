#!/usr/bin/env bash
# bench/ramdev.sh [-s SIZE] [--] COMMAND [ARG...] — runs COMMAND on a RAM-backed block device and
# always removes the device afterwards.
#
# The device: a preallocated file in /dev/shm (fallocate, SIZE, default 6G), attached to a loop
# device with direct I/O (losetup --direct-io=on, so the loop driver does not add a second page
# cache), formatted ext4 (lazy_itable_init=0, so no background inode-table zeroing skews the first
# minutes; nodiscard), mounted on a fresh directory. Where the disk is not the bottleneck and not
# noisy (a virtual disk cached on the host is both), engine vs fio and engine vs reference compare
# the I/O paths themselves (docs/performance.md, "RAM device").
#
# COMMAND runs with RAMDEV_DIR=<mount point> and RAMDEV_DEV=<loop device> in its environment; every
# "@RAMDEV@" inside its arguments is replaced by the mount point. Examples:
#   bench/ramdev.sh fio --name=w --directory=@RAMDEV@ --rw=write --bs=8M --size=1G --direct=1
#   bench/ramdev.sh env CACHE_DIR=@RAMDEV@/cache bench/engine-vs-reference.sh direct
#   RAMDEV=1 bench/vs-fio.sh    # vs-fio.sh, engine-vs-reference.sh, mooncake-replay.sh and
#                               # scale.sh call this script themselves with RAMDEV=1
#
# Unmount, loop detach and file removal run on every exit (COMMAND's failure, Ctrl-C, SIGTERM,
# SIGHUP: the signal is passed on to COMMAND first). Needs root (losetup, mount). Exit status:
# COMMAND's; 2 bad usage; 3 a tool missing; 4 not root or no loop device; 5 not enough space in
# /dev/shm.
set -uo pipefail

SIZE=6G
while (($#)); do
  case $1 in
    -s | --size)
      SIZE=${2:-}
      shift 2 || { echo "ramdev: -s needs a size (e.g. 6G)" >&2; exit 2; }
      ;;
    --) shift; break ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "ramdev: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
(($#)) || { echo "ramdev: no command given (usage: bench/ramdev.sh [-s SIZE] [--] COMMAND [ARG...])" >&2; exit 2; }
[[ $SIZE =~ ^[0-9]+[KMGT]?$ ]] || { echo "ramdev: -s '$SIZE' is not a size like 6G" >&2; exit 2; }
((EUID == 0)) || { echo "ramdev: needs root (losetup and mount)" >&2; exit 4; }
for tool in fallocate losetup mkfs.ext4 mount umount numfmt; do
  command -v "$tool" >/dev/null || { echo "ramdev: '$tool' not found" >&2; exit 3; }
done
need=$(numfmt --from=iec "$SIZE")
avail=$(($(stat -f -c '%a * %S' /dev/shm)))
((need + (1 << 30) <= avail)) || {
  echo "ramdev: /dev/shm has $(numfmt --to=iec "$avail") free; $SIZE plus 1 GiB of headroom needed" >&2
  exit 5
}

IMG=/dev/shm/kv-ramdev.$$.img
MNT=$(mktemp -d /tmp/kv-ramdev.XXXXXX)
DEV=""
CHILD=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null
    wait "$CHILD" 2>/dev/null
  fi
  if mountpoint -q "$MNT"; then
    for _ in 1 2 3 4 5; do umount "$MNT" 2>/dev/null && break; sleep 1; done
    mountpoint -q "$MNT" && umount -l "$MNT"
  fi
  [[ -n $DEV ]] && losetup -d "$DEV" 2>/dev/null
  rm -f "$IMG"
  rmdir "$MNT" 2>/dev/null
  exit "$rc"
}
trap cleanup EXIT
on_signal() {
  local sig=$1
  [[ -n $CHILD ]] && kill "-$sig" "$CHILD" 2>/dev/null
  exit $((128 + $(kill -l "$sig")))
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

fallocate -l "$SIZE" "$IMG" || { echo "ramdev: fallocate $IMG failed" >&2; exit 5; }
DEV=$(losetup --find --show --direct-io=on "$IMG") || { echo "ramdev: no free loop device" >&2; DEV=""; exit 4; }
mkfs.ext4 -q -F -E lazy_itable_init=0,nodiscard "$DEV" || { echo "ramdev: mkfs.ext4 $DEV failed" >&2; exit 4; }
mount "$DEV" "$MNT" || { echo "ramdev: mount $DEV failed" >&2; exit 4; }
echo "ramdev: $SIZE ext4 on $DEV (direct-io loop over $IMG) mounted at $MNT" >&2

args=()
for a in "$@"; do args+=("${a//@RAMDEV@/$MNT}"); done
export RAMDEV_DIR=$MNT RAMDEV_DEV=$DEV
"${args[@]}" &
CHILD=$!
wait "$CHILD"
rc=$?
CHILD=""
exit "$rc"
