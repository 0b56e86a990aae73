#!/usr/bin/env bash
# Runs every benchmark REPS times (default 3) and appends the RESULT lines to a file, each
# prefixed with LABEL (which linedrop build it measured). See bench/README.md.
#   bench/all.sh [OUT]     env: REPS, LABEL, ONLY (space-separated step names), CPU_S, SOAK_CALLS
set -uo pipefail
cd "$(dirname "$0")"
OUT="${1:-results.txt}"; REPS="${REPS:-3}"; LABEL="${LABEL:-linedrop}"
CPU_RATE="${CPU_RATE:-1000}"; CPU_S="${CPU_S:-60}"
SOAK_CALLS="${SOAK_CALLS:-1000000}"; SOAK_RATE="${SOAK_RATE:-2000}"
ONLY="${ONLY:-rate cpu mem linger durable soak}"
run() { echo "# $(date -u +%FT%TZ) $*" >&2; ./run.sh "$@" | sed "s/^RESULT /RESULT label=$LABEL /" | tee -a "$OUT"; }
want() { [[ " $ONLY " == *" $1 "* ]]; }
TARGETS="${TARGETS:-linedrop-udp linedrop-tcp sipp-uas sipp-uas-tcp rsip-uas floor-uas linedrop-out sipp-uac-out}"
for i in $(seq 1 "$REPS"); do
    if want rate; then for t in $TARGETS; do [ "$t" = floor-uas ] || run rate "$t"; done; fi
    if want cpu; then for t in $TARGETS; do run cpu "$t" "$CPU_RATE" "$CPU_S"; done; fi
done
if want mem; then
    for n in ${MEM_CALLS:-10000 50000 100000}; do
        for t in $TARGETS; do case "$t" in *-tcp|*-out|floor-uas) ;; *) run mem "$t" "$n" ;; esac; done
    done
fi
if want linger; then
    for i in $(seq 1 "$REPS"); do
        for t in $TARGETS; do case "$t" in *-tcp|*-out|floor-uas) ;; *) run linger "$t" 40000 ;; esac; done
    done
fi
if want durable; then for i in $(seq 1 "$REPS"); do run durable "${DURABLE_RATE:?half the max clean rate}" 30; done; fi
if want soak; then run soak "$SOAK_CALLS" "$SOAK_RATE"; fi
