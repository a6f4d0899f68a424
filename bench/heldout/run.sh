#!/usr/bin/env bash
# The held-out breakages of issue 19 (goal 2): for each bench/heldout/NN-name.patch, apply it to a temporary copy
# of this checkout, run the standard simulator swarms (random and guided schedules) and record whether
# conformance caught it. See bench/heldout/README.md.
set -u -o pipefail

usage() {
  cat <<'EOF'
Usage: bench/heldout/run.sh [flags] [NN ...]

For each patch bench/heldout/NN-name.patch (all, or those whose number or name is given): copy this checkout's
committed tree (HEAD) to a temporary folder under ./tmp/, apply the patch there, and run
  npm run simulate -- --seeds S --schedule random --workers 1
  npm run simulate -- --seeds S --schedule guided --workers 1
(plus the patch's own "# run-with:" flags, e.g. --observers 1), then remove the copy. A patch is CAUGHT when any
seed of either schedule ends in a conformance verdict (DIVERGENCE, STALLED, OVERDUE, or another refusal of the
conformance search). A seed that fails only the simulator's end checks (DURABILITY, LIVENESS) is reported as
"end-check", not as a conformance catch. A simulator that exits with status 2 or prints no seed verdicts is
reported as CRASH (not a catch). A patch that does not apply is reported as NOAPPLY.

Before the patches, the unpatched copy runs the same swarms (a baseline: any failure there is a false alarm and
makes every catch doubtful); --no-baseline skips it.

Flags:
  --seeds N        seeds per schedule (default 10)
  --out FILE       also write the results table (markdown) to FILE
  --no-baseline    skip the unpatched run
  --keep           keep the temporary copies and the simulator outputs (under ./tmp/heldout-*)
  --help, -h       print this text and exit

Output: one line per patch and schedule as it finishes, then a markdown table and the catch rate.
Exit status: 0 when everything ran (whatever was caught), 1 when a baseline run failed, 2 on bad usage.
EOF
}

SEEDS=10
OUT=''
BASELINE=1
KEEP=0
ONLY=()
while [ $# -gt 0 ]; do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --seeds) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --seeds needs a positive number (see --help)" >&2; exit 2; }; SEEDS=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || { echo "run.sh: --out needs a file (see --help)" >&2; exit 2; }; OUT=$2; shift 2 ;;
    --no-baseline) BASELINE=0; shift ;;
    --keep) KEEP=1; shift ;;
    -*) echo "run.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
    *) ONLY+=("$1"); shift ;;
  esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TSX="$REPO/node_modules/.bin/tsx"
[ -x "$TSX" ] || { echo "run.sh: $TSX missing: run npm ci first" >&2; exit 2; }
mkdir -p "$REPO/tmp"
WORK=$(mktemp -d "$REPO/tmp/heldout-XXXXXX")
cleanup() { if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi; }
trap cleanup EXIT

PATCHES=()
for f in "$HERE"/[0-9][0-9]-*.patch; do
  [ -e "$f" ] || continue
  base=$(basename "$f" .patch)
  if [ ${#ONLY[@]} -gt 0 ]; then
    hit=0
    for o in "${ONLY[@]}"; do [ "$o" = "${base%%-*}" ] || [ "$o" = "$base" ] && hit=1; done
    [ $hit = 1 ] || continue
  fi
  PATCHES+=("$f")
done
[ ${#PATCHES[@]} -gt 0 ] || { echo "run.sh: no patch matches ${ONLY[*]:-} (see --help)" >&2; exit 2; }

# A fresh copy of the committed tree (HEAD, so that edits in the work tree while this runs change nothing) at $1,
# inside the repository so that node finds its node_modules.
copy_tree() {
  mkdir -p "$1"
  git -C "$REPO" archive --format=tar HEAD | tar -xf - -C "$1"
}

# run_sched DIR SCHEDULE EXTRA... -> prints "RESULT|first line" where RESULT is caught/end-check/pass/crash.
run_sched() {
  local dir=$1 sched=$2; shift 2
  local log="$WORK/$(basename "$dir")-$sched.out"
  (cd "$dir" && "$TSX" checker/vopr/cli.ts --seeds "$SEEDS" --schedule "$sched" --workers 1 "$@") >"$log" 2>&1
  local rc=$?
  local lines conf first
  # A swarm prints "seed S: VERDICT: ..." per failed seed; a single run (--seeds 1) prints "VERDICT: ...".
  lines=$(grep -E '^(seed [0-9]+: )?[A-Z][A-Z_-]+: ' "$log" || true)
  conf=$(printf '%s\n' "$lines" | grep -Ev '^(seed [0-9]+: )?(DURABILITY|LIVENESS):' | grep -E '^(seed [0-9]+: )?[A-Z]' || true)
  if [ $rc = 0 ]; then echo "pass|"; return; fi
  if [ $rc = 1 ] && [ -n "$conf" ]; then
    first=$(printf '%s\n' "$conf" | head -1)
    echo "caught|$first ($(printf '%s\n' "$conf" | wc -l)/$SEEDS seeds)"
    return
  fi
  if [ $rc = 1 ] && [ -n "$lines" ]; then
    first=$(printf '%s\n' "$lines" | head -1)
    echo "end-check|$first ($(printf '%s\n' "$lines" | wc -l)/$SEEDS seeds)"
    return
  fi
  if [ $rc = 1 ] && grep -q '^FAIL' "$log"; then
    echo "end-check|$(grep -E '^(durability|liveness):' "$log" | head -2 | tr '\n' ' ')"
    return
  fi
  first=$(grep -E 'simulate: [^s]|Error|error' "$log" | head -1)
  echo "crash|exit $rc: ${first:-$(tail -1 "$log")}"
}

ROWS=()
CAUGHT=0
COUNTED=0
BASEFAIL=0
START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

if [ $BASELINE = 1 ]; then
  copy_tree "$WORK/baseline"
  for sched in random guided; do
    r=$(run_sched "$WORK/baseline" $sched)
    echo "baseline $sched: $r"
    [ "${r%%|*}" = pass ] || BASEFAIL=1
    [ "${r%%|*}" = pass ] || echo "run.sh: the unpatched code fails ($sched): a false alarm, see above" >&2
    ROWS+=("| baseline (no patch) | $sched | ${r%%|*} | ${r#*|} |")
  done
  rm -rf "$WORK/baseline"
fi

for f in "${PATCHES[@]}"; do
  base=$(basename "$f" .patch)
  dir="$WORK/$base"
  copy_tree "$dir"
  extra=$(sed -n 's/^# run-with: *//p' "$f" | head -1)
  # GNU patch, not git apply: the copy lies inside this repository's work tree, where git apply would take
  # paths relative to the repository's top. --dry-run first, so that a patch applies whole or not at all.
  if ! (cd "$dir" && patch -p1 -s -f --dry-run <"$f" >"$WORK/$base.apply" 2>&1 && patch -p1 -s -f <"$f" >>"$WORK/$base.apply" 2>&1); then
    echo "$base: NOAPPLY $(head -1 "$WORK/$base.apply")"
    ROWS+=("| $base | - | NOAPPLY | $(head -1 "$WORK/$base.apply") |")
    rm -rf "$dir"
    continue
  fi
  caught=0
  crashed=0
  how=()
  for sched in random guided; do
    # shellcheck disable=SC2086
    r=$(run_sched "$dir" $sched $extra)
    kind=${r%%|*}
    echo "$base $sched${extra:+ ($extra)}: $r"
    ROWS+=("| $base | $sched${extra:+ $extra} | $kind | ${r#*|} |")
    [ "$kind" = caught ] && { caught=1; how+=("$sched"); }
    [ "$kind" = crash ] && crashed=1
  done
  if [ $caught = 1 ]; then
    CAUGHT=$((CAUGHT + 1)); COUNTED=$((COUNTED + 1))
    echo "$base: CAUGHT by ${how[*]}"
  elif [ $crashed = 1 ]; then
    echo "$base: not counted (the simulator crashed)"
  else
    COUNTED=$((COUNTED + 1))
    echo "$base: MISSED"
  fi
  [ "$KEEP" = 1 ] || rm -rf "$dir"
done

END=$(date -u '+%H:%M UTC')
{
  echo "Held-out breakages: $SEEDS seeds per schedule, --workers 1; $START to $END; load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| patch | schedule | result | first report line |"
  echo "|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  if [ $COUNTED -gt 0 ]; then
    echo "Caught by conformance: $CAUGHT of $COUNTED patches ($(awk "BEGIN{printf \"%.1f\", 100*$CAUGHT/$COUNTED}") %)"
  fi
} | tee ${OUT:+"$OUT"}
[ $BASEFAIL = 0 ] || exit 1
exit 0
