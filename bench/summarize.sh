#!/usr/bin/env bash
# Medians of the RESULT lines in FILE (from bench/all.sh), per label, mode and target
# (outbound targets, linedrop-out and sipp-uac-out, are rate and cpu lines like the others).
#   bench/summarize.sh FILE
set -euo pipefail
awk '
function val(k,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return "" }
function add(key, v) { n[key]++; vals[key, n[key]] = v + 0 }
/^RESULT/ {
    label = val("label"); mode = $3; t = val("target")
    if (mode == "rate") add(label " rate " t " max_clean_cps", val("max_clean_cps"))
    if (mode == "cpu") add(label " cpu " t " rate=" val("rate") " us_per_call", val("us_per_call"))
    if (mode == "mem") add(label " mem " t " calls=" val("calls") " bytes_per_call", val("bytes_per_call"))
    if (mode == "durable") { add(label " durable rate=" val("rate") " p50_us", val("p50_us")); add(label " durable rate=" val("rate") " p99_us", val("p99_us")) }
    if (mode == "soak") print label, $0
}
END {
    for (key in n) {
        m = n[key]; delete a
        for (i = 1; i <= m; i++) a[i] = vals[key, i]
        for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j+1] = a[j]; a[j+1] = x }
        med = (m % 2) ? a[(m+1)/2] : (a[m/2] + a[m/2+1]) / 2
        s = ""; for (i = 1; i <= m; i++) s = s (i > 1 ? "," : "") vals[key, i]
        printf "%-60s median=%s runs=%d [%s]\n", key, med, m, s
    }
}' "${1:?results file}" | sort
