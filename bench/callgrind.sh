#!/usr/bin/env bash
# Instructions per call of linedrop under callgrind, in all threads and split by thread (the
# SIP thread, the record applier, the rest): stable on a noisy machine, so it is the
# before/after measure of an optimisation. Runs SMALL and LARGE calls from SIPp's uac and
# reports (Ir(LARGE) - Ir(SMALL)) / (LARGE - SMALL), which cancels start-up and shutdown.
# See bench/README.md.
#
#   bench/callgrind.sh BINARY [u1|t1|out] [SMALL] [LARGE]      env: RATE (100; out: 50), HOLD_MS (100), CG_OUT
set -euo pipefail
BIN="${1:?linedrop binary}"; T="${2:-u1}"; SMALL="${3:-200}"; LARGE="${4:-1200}"
RATE="${RATE:-$([ "$T" = out ] && echo 50 || echo 100)}"; HOLD_MS="${HOLD_MS:-100}"; PORT="${SUT_PORT:-15260}"; API="${API_PORT:-18680}"
W="$(mktemp -d "${TMPDIR:-/tmp}/linedrop-cg.XXXXXX")"
trap 'rm -rf "$W"' EXIT

# `out`: linedrop as the caller (`bench-dial`) against SIPp's uas, instead of SIPp's uac
# calling the daemon; at 50 calls/s by default (at 100 the SIP thread under valgrind falls
# behind and its INVITEs are retransmitted). T1 is 500 ms: with 200, a first call answered
# while valgrind was still translating the code was now and then retransmitted and failed,
# which made the run cheaper than its calls; 64*T1 still ends within the 60 s wait. A run
# that did not connect every call cleanly is an error, not a figure.
one_out() { # CALLS -> runs bench-dial under callgrind
    local calls="$1"
    sipp -sn uas -i 127.0.0.1 -p "$PORT" -t u1 -m "$calls" -nostdin -timeout 300s \
        >"$W/uas-$calls.out" 2>&1 </dev/null &
    local uas=$! i
    for i in $(seq 1 50); do ss -Hlun "sport = :$PORT" | grep -q . && break; sleep 0.1; done
    RUST_LOG=warn valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$W/cg-$calls" \
        "$BIN" --db "$W/db-$calls" bench-dial --to "sip:service@127.0.0.1:$PORT" \
        --sip "127.0.0.1:$((PORT + 1))" --calls "$calls" --rate "$RATE" --hold-ms "$HOLD_MS" \
        --t1-ms 500 --quiesce-s 60 >"$W/dial-$calls.out" 2>&1 || {
        echo "bench-dial under callgrind did not run clean ($calls calls):" >&2
        grep -v '^==' "$W/dial-$calls.out" >&2; kill "$uas" 2>/dev/null; exit 1; }
    grep -q ' retransmissions=0 ' "$W/dial-$calls.out" || {
        echo "bench-dial under callgrind retransmitted ($calls calls):" >&2
        grep -v '^==' "$W/dial-$calls.out" >&2; kill "$uas" 2>/dev/null; exit 1; }
    wait "$uas" || true
}

one() { # CALLS -> prints the Ir of: all threads, the SIP thread, the applier
    local calls="$1"
    if [ "$T" = out ]; then one_out "$calls"; else
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
    RUST_LOG=warn valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$W/cg-$calls" \
        "$BIN" serve --config "$W/c.toml" >"$W/sut-$calls.log" 2>&1 &
    local pid=$! i
    for i in $(seq 1 300); do ss -Hltn "sport = :$API" | grep -q . && break; sleep 0.1; done
    sipp -sn uac "127.0.0.1:$PORT" -s bench -i 127.0.0.1 -p $((PORT + 1)) -t "$T" -r "$RATE" \
        -m "$calls" -d "$HOLD_MS" -nostdin -aa -recv_timeout 10000 -timeout 120s \
        >"$W/uac-$calls.out" 2>&1 </dev/null || echo "# sipp rc=$? for $calls calls" >&2
    sleep 1
    kill -TERM "$pid"; wait "$pid" || true
    fi
    # One profile per thread (cg-CALLS-NN); a thread is known by the loop it runs.
    local f all=0 sip=0 apply=0 ir
    for f in "$W/cg-$calls"-*; do
        ir=$(awk '/^(summary|totals):/{print $2; exit}' "$f")
        all=$((all + ir))
        if grep -q 'driver::event_loop::run' "$f"; then
            sip=$((sip + ir)); cp "$f" "$W/sip-$calls"
        elif grep -q 'writer::apply::run' "$f"; then
            apply=$((apply + ir)); cp "$f" "$W/apply-$calls"
        fi
    done
    echo "$all $sip $apply"
}

read -r a a_sip a_apply <<<"$(one "$SMALL")"
read -r b b_sip b_apply <<<"$(one "$LARGE")"
# `one` prints nothing for a run that failed (it said why): no figure from it.
[ -n "$a" ] && [ -n "$b" ] || { echo "callgrind.sh: a run failed; no result" >&2; exit 1; }
# CG_OUT=FILE keeps the larger run's profiles of the SIP thread (FILE.sip) and the applier
# (FILE.apply): callgrind_annotate FILE.sip shows where that thread's instructions go.
if [ -n "${CG_OUT:-}" ]; then
    cp "$W/sip-$LARGE" "$CG_OUT.sip" 2>/dev/null || true
    cp "$W/apply-$LARGE" "$CG_OUT.apply" 2>/dev/null || true
fi
awk -v a="$a" -v b="$b" -v as="$a_sip" -v bs="$b_sip" -v aa="$a_apply" -v ba="$b_apply" \
    -v s="$SMALL" -v l="$LARGE" -v t="$T" -v bin="$BIN" -v hold="$HOLD_MS" \
    'BEGIN{n = l - s; printf "RESULT callgrind bin=%s transport=%s hold_ms=%d ir_small=%d ir_large=%d ir_per_call=%.0f sip=%.0f apply=%.0f other=%.0f\n", bin, t, hold, a, b, (b-a)/n, (bs-as)/n, (ba-aa)/n, ((b-bs-ba)-(a-as-aa))/n}'
