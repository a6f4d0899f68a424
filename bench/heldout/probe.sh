#!/usr/bin/env bash
# Reach probes for the held-out patches that conformance missed: does the unpatched code ever take the branch the
# patch changes? See bench/heldout/README.md.
set -u -o pipefail
usage() {
  cat <<'USAGE'
Usage: bench/heldout/probe.sh [--seeds N] NN ...

For each NN (02, 09, 10, 15): copy the committed tree (HEAD) to ./tmp/probe-*, put a throw exactly where patch NN
would behave differently from the unpatched code, and run the standard swarms (--schedule random and guided,
--workers 1, N seeds, default 10). "reached" means the simulator stopped on the throw (exit 2, the probe's
name printed); "not reached" means every seed ran without taking that branch. The copy is removed.
  02  FLE, same round: the proposal changes (the patch then sends nothing)
  09  ACKEPOCH during discovery from a learner whose currentEpoch is above the leader's (zxid aside)
  10  ACKEPOCH with currentEpoch -1 during discovery
  15  a learner re-syncing while a proposal it ACKed before is still outstanding (a stale ACK)
Flags: --seeds N, --help (-h).
USAGE
}
SEEDS=10
NS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --seeds) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "probe.sh: --seeds needs a positive number (see --help)" >&2; exit 2; }; SEEDS=$2; shift 2 ;;
    02 | 09 | 10 | 15) NS+=("$1"); shift ;;
    *) echo "probe.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#NS[@]} -gt 0 ] || { usage >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$REPO/tmp"
for n in "${NS[@]}"; do
  D=$(mktemp -d "$REPO/tmp/probe-XXXXXX")
  git -C "$REPO" archive --format=tar HEAD | tar -xf - -C "$D"
  (cd "$D" && python3 - "$n" <<'PY'
import sys
probes = {
  '02': ('impl/core/election.ts', "      updateProposal(p, n);\n      sendNotifications(p);",
         "      updateProposal(p, n);\n      throw new Error('HELDOUT-PROBE-02');"),
  '09': ('impl/core/leader.ts', "    // A learner that had already accepted this epoch (-1)",
         "    if (epoch !== -1 && epoch > s.currentEpoch) throw new Error('HELDOUT-PROBE-09');\n    // A learner that had already accepted this epoch (-1)"),
  '10': ('impl/core/leader.ts', "    // A learner that had already accepted this epoch (-1)",
         "    if (epoch === -1) throw new Error('HELDOUT-PROBE-10');\n    // A learner that had already accepted this epoch (-1)"),
  '15': ('impl/core/sync.ts', "      prop.acks.delete(h.sid);",
         "      if (prop.acks.has(h.sid)) throw new Error('HELDOUT-PROBE-15');"),
}
f, old, new = probes[sys.argv[1]]
s = open(f).read()
if s.count(old) != 1: sys.exit(f'probe {sys.argv[1]}: its anchor is not in {f} (impl changed): update probe.sh')
open(f, 'w').write(s.replace(old, new))
PY
  ) || { rm -rf "$D"; continue; }
  for s in random guided; do
    out=$(cd "$D" && "$REPO/node_modules/.bin/tsx" checker/vopr/cli.ts --seeds "$SEEDS" --schedule "$s" --workers 1 2>&1)
    rc=$?
    if grep -q "HELDOUT-PROBE-$n" <<<"$out"; then echo "probe $n $s: reached"
    elif [ $rc = 0 ]; then echo "probe $n $s: not reached in $SEEDS seeds"
    else echo "probe $n $s: inconclusive (exit $rc: $(grep -m1 -E '^seed|simulate:' <<<"$out"))"; fi
  done
  rm -rf "$D"
done
