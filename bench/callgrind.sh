#!/usr/bin/env bash
# Instructions per call of linedrop (all threads) under callgrind: stable on a noisy machine,
# so it is the before/after measure of an optimisation. Runs SMALL and LARGE calls from SIPp's
# uac and reports (Ir(LARGE) - Ir(SMALL)) / (LARGE - SMALL), which cancels start-up and
# shutdown. See bench/README.md.
#
#   bench/callgrind.sh BINARY [u1|t1] [SMALL] [LARGE]      env: RATE (100), HOLD_MS (100), CG_OUT
set -euo pipefail
BIN="${1:?linedrop binary}"; T="${2:-u1}"; SMALL="${3:-200}"; LARGE="${4:-1200}"
RATE="${RATE:-100}"; HOLD_MS="${HOLD_MS:-100}"; PORT="${SUT_PORT:-15260}"; API="${API_PORT:-18680}"
W="$(mktemp -d "${TMPDIR:-/tmp}/linedrop-cg.XXXXXX")"
trap 'rm -rf "$W"' EXIT

one() { # CALLS -> prints total Ir
    local calls="$1"
    cat >"$W/c.toml" <<EOF
[sip]
udp = "127.0.0.1:$PORT"
tcp = "127.0.0.1:$PORT"
t1_ms = 500
[api]
listen = "127.0.0.1:$API"
[store]
path = "$W/db-$calls"
[[lines]]
name = "bench"
address = "sip:bench@127.0.0.1"
behaviour = "answer"
[[apps]]
name = "bench"
token = "bench-token-0123456789abcdef"
owner = []
monitor = []
EOF
    RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$W/cg-$calls" \
        "$BIN" serve --config "$W/c.toml" >"$W/sut-$calls.log" 2>&1 &
    local pid=$! i
    for i in $(seq 1 300); do ss -Hltn "sport = :$API" | grep -q . && break; sleep 0.1; done
    sipp -sn uac "127.0.0.1:$PORT" -s bench -i 127.0.0.1 -p $((PORT + 1)) -t "$T" -r "$RATE" \
        -m "$calls" -d "$HOLD_MS" -nostdin -aa -recv_timeout 10000 -timeout 120s \
        >"$W/uac-$calls.out" 2>&1 </dev/null || echo "# sipp rc=$? for $calls calls" >&2
    sleep 1
    kill -TERM "$pid"; wait "$pid" || true
    awk '/^(summary|totals):/{print $2; exit}' "$W/cg-$calls"
}

a=$(one "$SMALL"); b=$(one "$LARGE")
# CG_OUT=FILE keeps the larger run's profile (callgrind_annotate FILE shows where it goes).
[ -n "${CG_OUT:-}" ] && cp "$W/cg-$LARGE" "$CG_OUT"
awk -v a="$a" -v b="$b" -v s="$SMALL" -v l="$LARGE" -v t="$T" -v bin="$BIN" \
    'BEGIN{printf "RESULT callgrind bin=%s transport=%s ir_small=%d ir_large=%d ir_per_call=%.0f\n", bin, t, a, b, (b-a)/(l-s)}'
