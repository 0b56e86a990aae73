#!/usr/bin/env bash
# Where linedrop's CPU goes, thread by thread: SIPp's built-in uac calls it at RATE calls/s for S
# seconds (as `bench/run.sh cpu linedrop-udp`), and each thread's run time is read from
# /proc/PID/task/*/schedstat (the scheduler's nanosecond count, not clock ticks) before and
# after. See bench/README.md.
#
#   bench/threads.sh [RATE] [S]        env: LINEDROP_BIN, SUT_PORT, UAC_PORT, API_PORT, HOLD_MS,
#                                      LINGER (store.commit_linger_ms, default the daemon's own)
#
# Prints one line per thread name (threads of one name summed), then the whole process:
#   RESULT threads rate=R thread=NAME us_per_call=X vcsw_per_call=V ivcsw_per_call=I
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LINEDROP_BIN="${LINEDROP_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/linedrop}"
RATE="${1:-1000}"; S="${2:-20}"; CALLS=$((RATE * S))
SUT_PORT="${SUT_PORT:-15060}"; UAC_PORT="${UAC_PORT:-15061}"; API_PORT="${API_PORT:-18480}"
W="$(mktemp -d "${TMPDIR:-/tmp}/linedrop-threads.XXXXXX")"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$W"' EXIT

cat >"$W/c.toml" <<TOML
[sip]
udp = "127.0.0.1:$SUT_PORT"
socket_buffer = 4194304
[api]
listen = "127.0.0.1:$API_PORT"
[store]
path = "$W/records.db"
retention_days = 0
${LINGER:+commit_linger_ms = $LINGER}
[[lines]]
name = "bench"
address = "sip:bench@127.0.0.1"
behaviour = "answer"
[[apps]]
name = "bench"
token = "bench-token-0123456789abcdef"
owner = []
monitor = []
TOML
"$LINEDROP_BIN" serve --config "$W/c.toml" >"$W/sut.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do ss -Hltn "sport = :$API_PORT" | grep -q . && break; sleep 0.05; done

snap() { # NAME RUN_NS VOLUNTARY INVOLUNTARY, one line per thread
    local t
    for t in /proc/"$PID"/task/*; do
        printf '%s %s %s\n' "$(tr ' ' _ <"$t/comm")" "$(cut -d' ' -f1 "$t/schedstat")" \
            "$(awk '/^voluntary_ctxt/{v=$2} /^nonvoluntary_ctxt/{i=$2} END{print v, i}' "$t/status")"
    done
}
snap >"$W/before"
sipp -sn uac "127.0.0.1:$SUT_PORT" -s bench -i 127.0.0.1 -p "$UAC_PORT" -t u1 -r "$RATE" -m "$CALLS" \
    -d "${HOLD_MS:-500}" -buff_size 4194304 -nostdin -aa -timeout $((S + 30))s >/dev/null 2>&1 </dev/null \
    || echo "# sipp exited $?" >&2
snap >"$W/after"
awk -v n="$CALLS" -v rate="$RATE" '
    FNR == NR { r[$1] += $2; v[$1] += $3; i[$1] += $4; next }
    { R[$1] += $2; V[$1] += $3; I[$1] += $4 }
    END {
        for (k in R) {
            printf "RESULT threads rate=%d thread=%s us_per_call=%.1f vcsw_per_call=%.2f ivcsw_per_call=%.2f\n",
                rate, k, (R[k] - r[k]) / 1000 / n, (V[k] - v[k]) / n, (I[k] - i[k]) / n
            tr += R[k] - r[k]
        }
        printf "RESULT threads rate=%d thread=ALL us_per_call=%.1f\n", rate, tr / 1000 / n
    }' "$W/before" "$W/after" | sort
