#!/usr/bin/env bash
# Instructions per call of SIPp's built-in uas under callgrind, measured as bench/callgrind.sh
# measures linedrop (the same uac, rate and hold; (Ir(LARGE) - Ir(SMALL)) / (LARGE - SMALL)),
# so the two can be set side by side. See bench/README.md.
#
#   bench/callgrind-sipp.sh [SMALL] [LARGE]      env: RATE (100), HOLD_MS (100), SUT_PORT
set -euo pipefail
SMALL="${1:-200}"; LARGE="${2:-1200}"
RATE="${RATE:-100}"; HOLD_MS="${HOLD_MS:-100}"; PORT="${SUT_PORT:-15360}"
W="$(mktemp -d "${TMPDIR:-/tmp}/linedrop-cgs.XXXXXX")"
trap 'rm -rf "$W"' EXIT

one() { # CALLS -> prints the Ir of SIPp's uas over CALLS calls (it exits after the last)
    local calls="$1" i
    valgrind --tool=callgrind --callgrind-out-file="$W/cg-$calls" \
        sipp -sn uas -i 127.0.0.1 -p "$PORT" -t u1 -m "$calls" -nostdin -timeout 300s \
        >"$W/uas-$calls.out" 2>&1 </dev/null &
    local uas=$!
    for i in $(seq 1 100); do ss -Hlun "sport = :$PORT" | grep -q . && break; sleep 0.2; done
    sipp -sn uac "127.0.0.1:$PORT" -i 127.0.0.1 -p $((PORT + 1)) -t u1 -r "$RATE" -m "$calls" \
        -d "$HOLD_MS" -nostdin -aa -recv_timeout 10000 -timeout 120s \
        >"$W/uac-$calls.out" 2>&1 </dev/null || {
        echo "sipp uac rc=$? for $calls calls" >&2; kill "$uas" 2>/dev/null; exit 1; }
    wait "$uas" || true
    awk '/^(summary|totals):/{print $2; exit}' "$W/cg-$calls"
}

a="$(one "$SMALL")"; b="$(one "$LARGE")"
[ -n "$a" ] && [ -n "$b" ] || { echo "callgrind-sipp.sh: a run failed; no result" >&2; exit 1; }
awk -v a="$a" -v b="$b" -v s="$SMALL" -v l="$LARGE" -v hold="$HOLD_MS" \
    'BEGIN{printf "RESULT callgrind target=sipp-uas hold_ms=%d ir_small=%d ir_large=%d ir_per_call=%.0f\n", hold, a, b, (b-a)/(l-s)}'
