#!/usr/bin/env bash
# linedrop benchmarks against real peers (SIPp's uas, an rsipstack UA). See bench/README.md.
#
#   bench/run.sh rate TARGET            max clean rate (RFC 7502 binary search), calls/s
#   bench/run.sh cpu TARGET [RATE] [S]  user+sys CPU of TARGET per call at a fixed rate
#   bench/run.sh threads [RATE] [S]     linedrop's CPU per call split by thread (schedstat)
#   bench/run.sh mem TARGET N           RSS per established call, N calls held
#   bench/run.sh linger TARGET N        RSS kept per call after N calls end, all within 64·T1
#   bench/run.sh durable RATE [S]       BYE -> durable SQLite record latency, p50/p99 (linedrop)
#   bench/run.sh soak CALLS RATE        RSS at warm-up, middle, 95 % and end; ledger at the end
#   bench/run.sh --check                every mode, tiny: proves the script works (CI)
#
# TARGET (inbound: SIPp's built-in `uac` calls it): linedrop-udp | linedrop-tcp | sipp-uas |
#   sipp-uas-tcp | rsip-uas | floor-uas
# TARGET (outbound, rate and cpu only: it calls SIPp's built-in `uas`): linedrop-out
#   (`linedrop bench-dial`, the daemon's engine/driver/records driven through the Rust API) |
#   sipp-uac-out (SIPp's `uac`: the floor)
# Every address is 127.0.0.1. Each result is printed as one line starting with RESULT.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LINEDROP_BIN="${LINEDROP_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/linedrop}"
RSIP_UAS_BIN="${RSIP_UAS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/peers/release/rsip-uas}"
FLOOR_UAS_BIN="${FLOOR_UAS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/peers/release/floor-uas}"
SUT_PORT="${SUT_PORT:-15060}"
UAC_PORT="${UAC_PORT:-15061}"
API_PORT="${API_PORT:-18480}"
HOLD_MS="${HOLD_MS:-500}"        # call hold time SIPp's uac pauses before its BYE
PROBE_S="${PROBE_S:-10}"         # length of one rate probe
RATE_MAX="${RATE_MAX:-40000}"    # upper bound of the rate search
RATE_START="${RATE_START:-2000}"
PRECISION="${PRECISION:-5}"      # stop the search when hi-lo is below this % of lo
BUF=4194304
TOKEN=bench-token-0123456789abcdef
WORK="$(mktemp -d "${TMPDIR:-/tmp}/linedrop-bench.XXXXXX")"
SUT_PID=""
UAC_PID=""

log() { echo "# $*" >&2; }
cleanup() {
    [ -n "$UAC_PID" ] && kill "$UAC_PID" 2>/dev/null || true
    stop_sut
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# ---- the system under test -----------------------------------------------------------------
write_config() {
    cat >"$WORK/linedrop.toml" <<EOF
[sip]
udp = "127.0.0.1:$SUT_PORT"
tcp = "127.0.0.1:$SUT_PORT"
socket_buffer = $BUF
t1_ms = ${T1_MS:-500}

[api]
listen = "127.0.0.1:$API_PORT"

[store]
path = "$WORK/linedrop.db"
retention_days = 0
${LINGER:+commit_linger_ms = $LINGER}

[[lines]]
name = "bench"
address = "sip:bench@127.0.0.1"
behaviour = "answer"

[[apps]]
name = "bench"
token = "$TOKEN"
owner = []
monitor = []
EOF
}

wait_port() { # PROTO PORT: until something listens
    local i
    for i in $(seq 1 100); do
        if [ "$1" = udp ]; then ss -Hlun "sport = :$2" | grep -q . && return 0
        else ss -Hltn "sport = :$2" | grep -q . && return 0; fi
        sleep 0.05
    done
    echo "nothing listens on $1 port $2" >&2; return 1
}

# SUT_CPUS / UAC_CPUS (taskset core lists, e.g. 0 and 1) confine the system under test and
# SIPp's uac to those cores; unset, the scheduler places both. (Prefixes, not wrapper
# functions: a background job's $! must be the process itself.)
start_sut() { # TARGET
    local pin=(); [ -z "${SUT_CPUS:-}" ] || pin=(taskset -c "$SUT_CPUS")
    case "$1" in
        linedrop-*)
            rm -f "$WORK"/linedrop.db*; write_config
            RUST_LOG="${RUST_LOG:-warn}" "${pin[@]}" "$LINEDROP_BIN" serve --config "$WORK/linedrop.toml" \
                >"$WORK/sut.log" 2>&1 &
            SUT_PID=$!
            wait_port tcp "$API_PORT" ;;
        sipp-uas)
            "${pin[@]}" sipp -sn uas -i 127.0.0.1 -p "$SUT_PORT" -t u1 -buff_size $BUF -nostdin \
                >"$WORK/sut.log" 2>&1 </dev/null &
            SUT_PID=$!
            wait_port udp "$SUT_PORT" ;;
        sipp-uas-tcp)
            "${pin[@]}" sipp -sn uas -i 127.0.0.1 -p "$SUT_PORT" -t t1 -buff_size $BUF -nostdin \
                >"$WORK/sut.log" 2>&1 </dev/null &
            SUT_PID=$!
            wait_port tcp "$SUT_PORT" ;;
        rsip-uas)
            [ -x "$RSIP_UAS_BIN" ] || { echo "build bench/peers/rsip-uas first (README)" >&2; return 1; }
            "${pin[@]}" "$RSIP_UAS_BIN" "$SUT_PORT" >"$WORK/sut.log" 2>&1 &
            SUT_PID=$!
            wait_port udp "$SUT_PORT" ;;
        floor-uas)
            [ -x "$FLOOR_UAS_BIN" ] || { echo "build bench/peers/floor-uas first (README)" >&2; return 1; }
            "${pin[@]}" "$FLOOR_UAS_BIN" "$SUT_PORT" >"$WORK/sut.log" 2>&1 &
            SUT_PID=$!
            wait_port udp "$SUT_PORT" ;;
        *) echo "unknown target $1" >&2; return 2 ;;
    esac
}

stop_sut() {
    [ -n "$SUT_PID" ] || return 0
    kill -TERM "$SUT_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 40); do kill -0 "$SUT_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$SUT_PID" 2>/dev/null || true
    wait "$SUT_PID" 2>/dev/null || true
    SUT_PID=""
}

transport_of() { case "$1" in *-tcp) echo t1 ;; *) echo u1 ;; esac; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime+stime, clock ticks
minflt() { awk '{print $10}' "/proc/$1/stat"; }             # minor page faults
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
ledger() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/v1/ledger"; }
quiescent() { ledger | grep -o '"quiescent": *[a-z]*' | grep -o '[a-z]*$'; }

# ---- the load generator --------------------------------------------------------------------
stat_col() { # COLUMN [FILE]: its last value in SIPp's stat CSV (default: the uac's)
    awk -F';' -v c="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} k{v=$k} END{print v+0}' \
        "${2:-$WORK/stat.csv}"
}

# Runs CMD with its stdout and stderr where they were, and writes its user and system CPU
# seconds to FILE. In a subshell because bash's `time` adds up every child reaped while it
# runs: in this script that included the callee (SIPp's uas, a background child that exits
# during the caller's wait for quiescence), whose CPU was counted as the caller's. The
# subshell's only child is CMD.
timed() { # FILE CMD...
    local file="$1"; shift
    ( TIMEFORMAT='%U %S'; time "$@" 2>&3 ) 3>&2 2>"$file"
}

uac() { # TRANSPORT RATE CALLS [extra sipp args]: runs SIPp's uac to the end; sets SUCC FAIL RETR RC
        # (UAC_TIME_FILE set: its CPU seconds go there, as `timed` writes them)
    local t="$1" rate="$2" calls="$3"; shift 3
    rm -f "$WORK/stat.csv"
    local to=$(( calls / (rate > 0 ? rate : 1) + HOLD_MS / 1000 + 30 ))
    local t0; t0=$(date +%s.%N)
    local pin=(); [ -z "${UAC_CPUS:-}" ] || pin=(taskset -c "$UAC_CPUS")
    local pre=(); [ -z "${UAC_TIME_FILE:-}" ] || pre=(timed "$UAC_TIME_FILE")
    set +e
    "${pre[@]}" "${pin[@]}" sipp -sn uac "127.0.0.1:$SUT_PORT" -s bench -i 127.0.0.1 -p "$UAC_PORT" -t "$t" \
        -r "$rate" -m "$calls" -d "$HOLD_MS" -buff_size $BUF -nostdin -aa \
        -recv_timeout 5000 -timeout "${to}s" \
        -trace_stat -stf "$WORK/stat.csv" -fd 1 "$@" >"$WORK/uac.out" 2>&1 </dev/null
    RC=$?
    set -e
    # The rate SIPp really offered: over TCP a SIPp that cannot keep up lags instead of
    # failing, so a probe also needs its calls to have been placed and ended on time. Timed
    # from SIPp's stat CSV: from its start to the line written when its last call ended,
    # minus the hold. The wall time of the whole run (ACHIEVED_WALL, for the log) also
    # counted SIPp's own start and exit, which grow with the rate whatever answers (2 % of a
    # 10-s probe at 24,000/s, 3 % at 40,000/s); a run without such a line falls back to it.
    ACHIEVED_WALL=$(awk -v a="$t0" -v b="$(date +%s.%N)" -v h="$HOLD_MS" -v n="$calls" \
        'BEGIN{s=b-a-h/1000; print int(n/(s>0.001?s:0.001))}')
    ACHIEVED=$ACHIEVED_WALL
    [ ! -s "$WORK/stat.csv" ] || ACHIEVED=$(awk -F';' -v n="$calls" -v h="$HOLD_MS" -v w="$ACHIEVED_WALL" '
        function epoch(f,  p) { split(f, p, "\t"); return p[3] + 0 }
        NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "TotalCallCreated") k = i; if ($i == "CurrentCall") c = i }; next }
        NR == 2 { t0 = epoch($1) }
        k && c && !t1 && $k + 0 == n && $c + 0 == 0 { t1 = epoch($3) }
        END { s = t1 - t0 - h / 1000; print (t1 && t0 && s > 0.001 ? int(n / s) : w) }' "$WORK/stat.csv")
    SUCC=$(stat_col 'SuccessfulCall(C)'); FAIL=$(stat_col 'FailedCall(C)')
    RETR=$(stat_col 'Retransmissions(C)')
}

probe() { # TARGET RATE -> 0 if clean
    case "$1" in *-out) probe_out "$@"; return ;; esac
    start_sut "$1"
    uac "$(transport_of "$1")" "$2" $(( $2 * PROBE_S ))
    stop_sut
    log "probe $1 rate=$2 achieved=$ACHIEVED (wall $ACHIEVED_WALL) rc=$RC ok=$SUCC failed=$FAIL retrans=$RETR"
    # SIPp exits 1 when a call failed; anything else but 0 is SIPp stopping (a fatal error,
    # such as its connection closed), whose why is only in the files the run deletes.
    if [ "$RC" != 0 ] && [ "$RC" != 1 ]; then
        log "SIPp's uac exited $RC; the end of its output, then of the target's:"
        tail -n 5 "$WORK/uac.out" "$WORK/sut.log" >&2 || true
    fi
    [ "$RC" = 0 ] && [ "$FAIL" = 0 ] && [ "$RETR" = 0 ] && [ "$SUCC" = $(( $2 * PROBE_S )) ] &&
        [ "$ACHIEVED" -ge $(( $2 * 95 / 100 )) ]   # placed within 5 % of the time asked
}

# ---- outbound: the target calls SIPp's uas ------------------------------------------------
# SIPp's uas answers on SUT_PORT and exits by itself after CALLS calls; the caller (the
# target) binds UAC_PORT. CPU_S is set to the caller's user+sys CPU seconds (`timed` around
# the whole process: start-up and the wait for quiescence included; the callee's not).
callee_start() { # CALLS
    rm -f "$WORK/uas.csv"
    sipp -sn uas -i 127.0.0.1 -p "$SUT_PORT" -t u1 -m "$1" -buff_size $BUF -nostdin \
        -timeout "$(( $1 / 100 + HOLD_MS / 1000 + 60 ))s" -trace_stat -stf "$WORK/uas.csv" -fd 1 \
        >"$WORK/uas.out" 2>&1 </dev/null &
    SUT_PID=$!
    wait_port udp "$SUT_PORT"
}

callee_end() { # waits for the uas to exit (bounded); sets UAS_FAIL UAS_RETR
    local i
    for i in $(seq 1 100); do kill -0 "$SUT_PID" 2>/dev/null || break; sleep 0.1; done
    stop_sut
    UAS_FAIL=$(stat_col 'FailedCall(C)' "$WORK/uas.csv")
    UAS_RETR=$(stat_col 'Retransmissions(C)' "$WORK/uas.csv")
}

caller() { # TARGET RATE CALLS QUIESCE_S: runs the caller to the end; sets SUCC FAIL RETR RC ACHIEVED CPU_S
    local rate="$2" calls="$3" quiesce="$4"
    OUT_RECORDS=n/a; OUT_QUIESCENT=n/a   # linedrop's alone (SIPp keeps no records)
    case "$1" in
        linedrop-out)
            rm -f "$WORK"/out.db*
            set +e
            timed "$WORK/time.out" env RUST_LOG="${RUST_LOG:-warn}" "$LINEDROP_BIN" \
                --db "$WORK/out.db" bench-dial \
                --to "sip:service@127.0.0.1:$SUT_PORT" --sip "127.0.0.1:$UAC_PORT" \
                --calls "$calls" --rate "$rate" --hold-ms "$HOLD_MS" --socket-buffer $BUF \
                --t1-ms "${T1_MS:-500}" --t4-ms "${T4_MS:-5000}" --quiesce-s "$quiesce" \
                >"$WORK/dial.out" 2>"$WORK/dial.err"
            RC=$?
            set -e
            local line; line=$(grep '^bench-dial:' "$WORK/dial.out" || echo none)
            field() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
            SUCC=$(field connected); FAIL=$(field failed); RETR=$(field retransmissions)
            ACHIEVED=$(field achieved_cps); OUT_RECORDS=$(field records); OUT_QUIESCENT=$(field quiescent)
            [ -n "$SUCC" ] || { SUCC=0; FAIL=$calls; RETR=0; ACHIEVED=0; cat "$WORK/dial.err" >&2; } ;;
        sipp-uac-out)
            UAC_TIME_FILE="$WORK/time.out"
            uac u1 "$rate" "$calls"
            UAC_TIME_FILE="" ;;
        *) echo "unknown outbound target $1" >&2; return 2 ;;
    esac
    CPU_S=$(awk '{print $1 + $2}' "$WORK/time.out")
}

probe_out() { # TARGET RATE -> 0 if clean
    local calls=$(( $2 * PROBE_S ))
    callee_start "$calls"
    # A rate probe does not wait out the transactions' 64*T1 linger (cpu mode and --check do).
    caller "$1" "$2" "$calls" 0
    callee_end
    log "probe $1 rate=$2 achieved=$ACHIEVED rc=$RC ok=$SUCC failed=$FAIL retrans=$RETR uas_failed=$UAS_FAIL uas_retrans=$UAS_RETR"
    [ "$RC" = 0 ] && [ "$FAIL" = 0 ] && [ "$RETR" = 0 ] && [ "$SUCC" = "$calls" ] &&
        [ "$UAS_FAIL" = 0 ] && [ "$UAS_RETR" = 0 ] && [ "${ACHIEVED%.*}" -ge $(( $2 * 95 / 100 )) ]
}

mode_cpu_out() { # TARGET RATE SECONDS: the caller's CPU per call
    local rate="$2" calls=$(( $2 * $3 ))
    callee_start "$calls"
    caller "$1" "$rate" "$calls" 60
    callee_end
    awk -v c="$CPU_S" -v n="$SUCC" -v t="$1" -v r="$rate" -v f="$FAIL" -v rt="$RETR" -v ur="$UAS_RETR" \
        -v q="$OUT_QUIESCENT" -v rec="$OUT_RECORDS" \
        'BEGIN{printf "RESULT cpu target=%s rate=%d calls=%d failed=%d retrans=%d uas_retrans=%d records=%s quiescent=%s cpu_s=%.2f us_per_call=%.1f\n", t, r, n, f, rt, ur, rec, q, c, (n ? c/n*1e6 : 0)}'
}

# ---- modes ---------------------------------------------------------------------------------
mode_rate() { # TARGET
    local lo=0 hi="$RATE_MAX" r="$RATE_START"
    while :; do                         # double until a probe fails (or the bound is clean)
        if [ "$r" -ge "$hi" ]; then probe "$1" "$hi" && lo=$hi; break; fi
        if probe "$1" "$r"; then lo=$r; r=$(( r * 2 )); else hi=$r; break; fi
    done
    while [ $(( (hi - lo) * 100 )) -gt $(( PRECISION * (lo > 0 ? lo : 1) )) ] && [ $(( hi - lo )) -gt 1 ]; do
        r=$(( (lo + hi) / 2 ))
        if probe "$1" "$r"; then lo=$r; else hi=$r; fi
    done
    echo "RESULT rate target=$1 max_clean_cps=$lo first_unclean_cps=$hi probe_s=$PROBE_S hold_ms=$HOLD_MS sut_cpus=${SUT_CPUS:-any} uac_cpus=${UAC_CPUS:-any}"
}

mode_cpu() { # TARGET RATE SECONDS
    local rate="${2:-1000}" secs="${3:-60}"
    case "$1" in *-out) mode_cpu_out "$1" "$rate" "$secs"; return ;; esac
    start_sut "$1"
    local t0 f0; t0=$(cpu_ticks "$SUT_PID"); f0=$(minflt "$SUT_PID")
    uac "$(transport_of "$1")" "$rate" $(( rate * secs ))
    sleep 1   # the last BYE's record
    local t1 f1; t1=$(cpu_ticks "$SUT_PID"); f1=$(minflt "$SUT_PID")
    stop_sut
    local hz; hz=$(getconf CLK_TCK)
    awk -v d=$(( t1 - t0 )) -v hz="$hz" -v n="$SUCC" -v t="$1" -v r="$rate" -v f="$FAIL" -v rt="$RETR" \
        -v pf=$(( f1 - f0 )) \
        'BEGIN{printf "RESULT cpu target=%s rate=%d calls=%d failed=%d retrans=%d cpu_s=%.2f us_per_call=%.1f minflt_per_call=%.2f\n", t, r, n, f, rt, d/hz, (n ? d/hz/n*1e6 : 0), (n ? pf/n : 0)}'
}

thread_snap() { # PID: NAME RUN_NS VOLUNTARY INVOLUNTARY, one line per live thread
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "$(tr ' ' _ <"$t/comm")" "$(cut -d' ' -f1 "$t/schedstat")" \
            "$(awk '/^voluntary_ctxt/{v=$2} /^nonvoluntary_ctxt/{i=$2} END{print v, i}' "$t/status")"
    done
}

mode_threads() { # RATE SECONDS: linedrop's CPU per call split by thread
    local rate="${1:-1000}" secs="${2:-20}"
    start_sut linedrop-udp
    thread_snap "$SUT_PID" >"$WORK/threads-before"
    uac u1 "$rate" $(( rate * secs ))
    sleep 1   # the last BYE's record
    thread_snap "$SUT_PID" >"$WORK/threads-after"
    stop_sut
    awk -v n="$SUCC" -v rate="$rate" -v f="$FAIL" '
        FNR == NR { r[$1] += $2; v[$1] += $3; i[$1] += $4; next }
        { R[$1] += $2; V[$1] += $3; I[$1] += $4 }
        END {
            if (!n) n = 1
            for (k in R) {
                printf "RESULT threads rate=%d failed=%d thread=%s us_per_call=%.1f vcsw_per_call=%.2f ivcsw_per_call=%.2f\n",
                    rate, f, k, (R[k] - r[k]) / 1000 / n, (V[k] - v[k]) / n, (I[k] - i[k]) / n
                tr += R[k] - r[k]
            }
            printf "RESULT threads rate=%d failed=%d thread=ALL us_per_call=%.1f\n", rate, f, tr / 1000 / n
        }' "$WORK/threads-before" "$WORK/threads-after" | sort
}

mode_mem() { # TARGET N
    local n="$2" rate="${MEM_RATE:-2000}"
    start_sut "$1"
    sleep 1
    local idle; idle=$(rss_kib "$SUT_PID")
    # Hold every call far longer than the ramp; sample when all are established.
    local hold_s=$(( n / rate + 30 ))
    rm -f "$WORK/stat.csv"
    sipp -sn uac "127.0.0.1:$SUT_PORT" -s bench -i 127.0.0.1 -p "$UAC_PORT" -t "$(transport_of "$1")" \
        -r "$rate" -m "$n" -l "$n" -d $(( hold_s * 1000 )) -buff_size $BUF -nostdin -aa \
        -timeout "$(( hold_s + 10 ))s" -trace_stat -stf "$WORK/stat.csv" -fd 1 \
        >"$WORK/uac.out" 2>&1 </dev/null &
    UAC_PID=$!
    local i cur=0
    for i in $(seq 1 $(( n / rate * 4 + 40 ))); do
        sleep 0.5
        [ -f "$WORK/stat.csv" ] && cur=$(stat_col 'CurrentCall')
        [ "$cur" -ge "$n" ] && break
    done
    sleep 2   # let the last ACKs land
    local held; held=$(rss_kib "$SUT_PID")
    kill "$UAC_PID" 2>/dev/null || true; wait "$UAC_PID" 2>/dev/null || true; UAC_PID=""
    stop_sut
    awk -v t="$1" -v n="$n" -v c="$cur" -v a="$idle" -v b="$held" \
        'BEGIN{printf "RESULT mem target=%s calls=%d established=%d idle_rss_kib=%d held_rss_kib=%d bytes_per_call=%.0f\n", t, n, c, a, b, (c ? (b-a)*1024/c : 0)}'
}

mode_linger() { # TARGET N: RSS kept per call once N calls have ended, before 64·T1 has passed
    local n="$2" rate="${LINGER_RATE:-4000}"
    start_sut "$1"
    sleep 1
    local idle; idle=$(rss_kib "$SUT_PID")
    local t0=$SECONDS
    uac "$(transport_of "$1")" "$rate" "$n"
    local after; after=$(rss_kib "$SUT_PID")
    # What a UAS keeps of ended calls (its transactions wait out Timers J and L, its
    # tombstones as long), counted only if none of it can have expired yet.
    local within=false
    [ $(( (SECONDS - t0 + 1) * 1000 )) -le $(( 64 * ${T1_MS:-500} )) ] && within=true
    stop_sut
    awk -v t="$1" -v n="$n" -v ok="$SUCC" -v f="$FAIL" -v a="$idle" -v b="$after" -v w="$within" \
        'BEGIN{printf "RESULT linger target=%s calls=%d ok=%d failed=%d within_64t1=%s idle_rss_kib=%d after_rss_kib=%d bytes_per_call=%.0f\n", t, n, ok, f, w, a, b, (n ? (b-a)*1024/n : 0)}'
}

mode_durable() { # RATE SECONDS
    local rate="$1" secs="${2:-30}"
    export LINEDROP_BENCH_DURABLE_LOG="$WORK/durable.log"
    rm -f "$LINEDROP_BENCH_DURABLE_LOG"
    start_sut linedrop-udp
    uac u1 "$rate" $(( rate * secs ))
    sleep 1
    stop_sut
    unset LINEDROP_BENCH_DURABLE_LOG
    sort -n "$WORK/durable.log" | awk -v r="$rate" -v f="$FAIL" -v rt="$RETR" \
        '{v[NR]=$1} END{if(!NR){print "RESULT durable none"; exit 1}
          printf "RESULT durable rate=%d records=%d failed=%d retrans=%d p50_us=%d p99_us=%d max_us=%d\n",
                 r, NR, f, rt, v[int(NR*0.5)+(NR*0.5>int(NR*0.5))], v[int(NR*0.99)+(NR*0.99>int(NR*0.99))], v[NR]}'
}

mode_soak() { # CALLS RATE
    local calls="$1" rate="$2"
    start_sut linedrop-udp
    local start; start=$(rss_kib "$SUT_PID")
    rm -f "$WORK/stat.csv"
    sipp -sn uac "127.0.0.1:$SUT_PORT" -s bench -i 127.0.0.1 -p "$UAC_PORT" -t u1 \
        -r "$rate" -m "$calls" -d "$HOLD_MS" -buff_size $BUF -nostdin -aa -recv_timeout 5000 \
        -timeout "$(( calls / rate + 60 ))s" -trace_stat -stf "$WORK/stat.csv" -fd 1 \
        >"$WORK/uac.out" 2>&1 </dev/null &
    UAC_PID=$!
    # Warm means the live set is full and so are the tables that hold it: every call's
    # transactions and tombstone live 64*T1 after it, and the staged tables reach their
    # steady sizes about two stage lifetimes later (a stage is sized for what all hold when
    # it is made: those made while the set filled are smaller). So the first sample waits
    # 3 x 64*T1 (plus the hold and a margin), and for 10 % of the calls. Earlier, RSS is
    # still filling and any later level looks like drift.
    local life_s=$(( 64 * ${T1_MS:-500} / 1000 ))
    local warm_s="${WARM_S:-$(( 3 * life_s + HOLD_MS / 1000 + 10 ))}"
    local warm="" warm_at="" mid="" late="" done_calls rss t0=$SECONDS
    : >"$WORK/rss.txt"
    while kill -0 "$UAC_PID" 2>/dev/null; do
        sleep 0.5
        [ -f "$WORK/stat.csv" ] || continue
        done_calls=$(( $(stat_col 'SuccessfulCall(C)') + $(stat_col 'FailedCall(C)') ))
        rss=$(rss_kib "$SUT_PID")
        echo "$(( SECONDS - t0 )) $done_calls $rss" >>"$WORK/rss.txt"
        [ -z "$warm" ] && [ "$done_calls" -ge $(( calls / 10 )) ] && [ $(( SECONDS - t0 )) -ge "$warm_s" ] && warm=$rss && warm_at=$(( SECONDS - t0 ))
        [ -z "$mid" ] && [ "$done_calls" -ge $(( calls / 2 )) ] && mid=$rss
        # Still under the same load as at warm-up: the like-for-like end of the drift.
        [ -z "$late" ] && [ "$done_calls" -ge $(( calls * 95 / 100 )) ] && late=$rss
    done
    set +e; wait "$UAC_PID"; RC=$?; set -e; UAC_PID=""
    SUCC=$(stat_col 'SuccessfulCall(C)'); FAIL=$(stat_col 'FailedCall(C)'); RETR=$(stat_col 'Retransmissions(C)')
    # Quiescence: dialogs and transactions drain (Timer J/K/tombstones) within 64*T1.
    local q=false i
    for i in $(seq 1 80); do q=$(quiescent); [ "$q" = true ] && break; sleep 0.5; done
    local end; end=$(rss_kib "$SUT_PID")
    ledger >"$WORK/ledger.json"
    stop_sut
    local recs; recs=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM records WHERE completed = 1").fetchone()[0])' "$WORK/linedrop.db" 2>/dev/null || echo '?')
    # RSS moves a little under a steady load (until 080869d it rose and fell by a staged
    # table's stage every cycle), so one sample can land high or low: the levels are
    # medians of the samples (every 0.5 s) over 64*T1 from warm-up and over the calls from
    # 85 to 95 %.
    local levels; levels=$(awk -v w="${warm_at:-999999}" -v span="$(( life_s > 1 ? life_s : 1 ))" -v lo=$(( calls * 85 / 100 )) -v hi=$(( calls * 95 / 100 )) '
        function median(a, n,   i, j, t) {
            for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
            return n ? (n % 2 ? a[(n + 1) / 2] : int((a[n / 2] + a[n / 2 + 1]) / 2)) : "?"
        }
        $1 >= w && $1 < w + span { wa[++nw] = $3 }
        $2 >= lo && $2 <= hi { la[++nl] = $3 }
        END { wm = median(wa, nw); lm = median(la, nl)
              printf "rss_warm_level_kib=%s rss_late_level_kib=%s level_drift_pct=%s", wm, lm, (nw && nl ? sprintf("%.1f", (lm - wm) * 100 / wm) : "?") }' "$WORK/rss.txt")
    echo "RESULT soak calls=$calls rate=$rate rc=$RC ok=$SUCC failed=$FAIL retrans=$RETR rss_start_kib=$start rss_warm_kib=${warm:-?} rss_mid_kib=${mid:-?} rss_late_kib=${late:-?} rss_end_kib=$end $levels quiescent=$q completed_records=$recs"
    echo "# ledger at the end: $(tr -d '\n ' <"$WORK/ledger.json" | cut -c1-400)" >&2
}

mode_check() { # every mode at toy size; fails unless each produced a sane result
    export T1_MS=20
    local out="$WORK/check.txt"
    {
        PROBE_S=2 RATE_START=50 RATE_MAX=100 PRECISION=50 HOLD_MS=100 mode_rate linedrop-udp
        PROBE_S=2 RATE_START=50 RATE_MAX=100 PRECISION=50 HOLD_MS=100 mode_rate sipp-uas
        SUT_CPUS=0 UAC_CPUS=0 PROBE_S=2 RATE_START=50 RATE_MAX=100 PRECISION=50 HOLD_MS=100 mode_rate linedrop-udp
        HOLD_MS=100 mode_cpu linedrop-tcp 50 2
        PROBE_S=2 RATE_START=50 RATE_MAX=100 PRECISION=50 HOLD_MS=100 mode_rate linedrop-out
        PROBE_S=2 RATE_START=50 RATE_MAX=100 PRECISION=50 HOLD_MS=100 mode_rate sipp-uac-out
        HOLD_MS=100 T4_MS=100 mode_cpu linedrop-out 50 2
        HOLD_MS=100 mode_cpu sipp-uac-out 50 2
        MEM_RATE=100 mode_mem linedrop-udp 100
        T1_MS=500 HOLD_MS=100 LINGER_RATE=100 mode_linger linedrop-udp 100
        HOLD_MS=100 mode_durable 50 2
        HOLD_MS=100 WARM_S=0 mode_soak 200 100
        HOLD_MS=100 mode_threads 50 2
    } | tee "$out"
    local bad=0
    grep -q 'rate target=linedrop-udp max_clean_cps=[1-9]' "$out" || { echo "check: rate linedrop" >&2; bad=1; }
    grep -q 'rate target=sipp-uas max_clean_cps=[1-9]' "$out" || { echo "check: rate sipp" >&2; bad=1; }
    grep -q 'rate target=linedrop-udp max_clean_cps=[1-9].* sut_cpus=0 uac_cpus=0' "$out" || { echo "check: rate pinned" >&2; bad=1; }
    grep -q 'cpu target=linedrop-tcp rate=50 calls=100 failed=0' "$out" || { echo "check: cpu" >&2; bad=1; }
    grep -q 'rate target=linedrop-out max_clean_cps=[1-9]' "$out" || { echo "check: rate linedrop-out" >&2; bad=1; }
    grep -q 'rate target=sipp-uac-out max_clean_cps=[1-9]' "$out" || { echo "check: rate sipp-uac-out" >&2; bad=1; }
    grep -q 'cpu target=linedrop-out rate=50 calls=100 failed=0 retrans=0 uas_retrans=0 records=100 quiescent=true' "$out" || { echo "check: cpu linedrop-out" >&2; bad=1; }
    grep -q 'cpu target=sipp-uac-out rate=50 calls=100 failed=0' "$out" || { echo "check: cpu sipp-uac-out" >&2; bad=1; }
    grep -q 'mem target=linedrop-udp calls=100 established=100 ' "$out" || { echo "check: mem" >&2; bad=1; }
    grep -q 'linger target=linedrop-udp calls=100 ok=100 failed=0 within_64t1=true ' "$out" ||
        { echo "check: linger" >&2; bad=1; }
    grep -q 'durable rate=50 records=100 failed=0' "$out" || { echo "check: durable" >&2; bad=1; }
    grep -q 'soak calls=200 .* failed=0 .* rss_warm_level_kib=[1-9].* quiescent=true completed_records=200' "$out" ||
        { echo "check: soak" >&2; bad=1; }
    # The SIP thread (which also writes the journal) and the applier (SQLite) must be seen.
    grep -q 'threads rate=50 failed=0 thread=linedrop-sip us_per_call=[0-9]' "$out" &&
        grep -q 'threads rate=50 failed=0 thread=linedrop-apply us_per_call=[0-9]' "$out" ||
        { echo "check: threads" >&2; bad=1; }
    [ "$bad" = 0 ] && echo "bench: 13 passed, 0 failed"
    return "$bad"
}

case "${1:-}" in
    rate) mode_rate "$2" ;;
    cpu) mode_cpu "$2" "${3:-1000}" "${4:-60}" ;;
    threads) mode_threads "${2:-1000}" "${3:-20}" ;;
    mem) mode_mem "$2" "$3" ;;
    linger) mode_linger "$2" "$3" ;;
    durable) mode_durable "$2" "${3:-30}" ;;
    soak) mode_soak "$2" "$3" ;;
    --check) mode_check ;;
    *) sed -n '2,18p' "$0"; exit 2 ;;
esac
