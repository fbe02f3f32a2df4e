#!/bin/sh
# hjo Slurm hook: reports a job's start (prolog) or end (epilog) to the hjo service.
#
# One script serves all four hook contexts; epilog.sh is the same file.  Install as the
# integration guide says:
#   cp scripts/slurm/prolog.sh /etc/slurm/prolog.d/50-observability.sh    (Prolog, slurmd)
#   cp scripts/slurm/epilog.sh /etc/slurm/epilog.d/50-observability.sh    (Epilog, slurmd)
# and/or as PrologSlurmctld / EpilogSlurmctld on the controller.  The context comes from
# SLURM_SCRIPT_CONTEXT (prolog_slurmd, epilog_slurmd, prolog_slurmctld, epilog_slurmctld); run
# by hand (no context) the script acts as a prolog, or as an epilog when its path says "epilog".
#
# What it sends: POST $OBSERVABILITY_URL/v1/events/job-started or /job-finished (see
# docs/slurm.md).  It never fails or stalls a job: it always exits 0, every HTTP request is
# bounded (--connect-timeout 2 --max-time 5 by default), and an event that cannot be delivered
# is kept in a spool directory and delivered, in order, by the next hook run.
#
# Configuration (environment first, then /etc/hjo/hooks.conf, then the defaults):
#   OBSERVABILITY_URL     http://localhost:8080
#   HJO_SPOOL_DIR         /var/spool/hjo (created 0700; rejected events go to rejected/)
#   HJO_HOOK_MODE         auto | slurmd | slurmctld | off  (which contexts send lifecycle
#                         events; set slurmctld when both kinds of hooks are installed)
#   HJO_CONNECT_TIMEOUT   2      HJO_MAX_TIME 5          (seconds, per request)
#   HJO_FLUSH_MAX         100    HJO_FLUSH_SECONDS 8     (spooled events per run, time budget)
#   HJO_ASK_SLURMCTLD     yes    (EpilogSlurmctld asks `scontrol show job` when the exit is 0:0)
#   HJO_SCONTROL_TIMEOUT  3
#   HJO_TOKEN_FILE        (none) bearer token, used only when owned by root and mode 0600/0400
#   HJO_CA_FILE           (none) CA bundle for https (curl --cacert)
#   HJO_LOG               auto (logger -t hjo-hook, else stderr) | syslog | stderr
#   HJO_EXTRA_PATH        directories appended to PATH (e.g. /opt/slurm/bin)
#   HJO_SCONTROL HJO_NVIDIA_SMI HJO_ROCM_SMI   commands (default: found in PATH)
#   HJO_CGROUP_ROOT       /sys/fs/cgroup
# The configuration file (HJO_HOOKS_CONF, default /etc/hjo/hooks.conf) holds KEY=VALUE lines; it
# is parsed, never sourced, and ignored unless owned by root (or the running user) and not
# writable by group or others.
#
# Hidden arguments for tests: --expand-hostlist LIST, --cpus-total SPEC, --json-string VALUE.

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 077
LC_ALL=C
export LC_ALL
set -eu
# Whatever happens below, Slurm sees success: a failing prolog drains the node.
trap 'exit 0' EXIT

HJO_HOOK_VERSION=1

# ---- JSON and parsing helpers (awk, byte-wise under LC_ALL=C) ------------------------------

# awk functions: jstr(s, name) gives a JSON string literal (quotes, backslashes and control
# characters escaped, valid UTF-8 passed through, invalid bytes replaced by U+FFFD); with name
# set, as the service wants names (user, account, ...): control characters replaced by U+FFFD
# and at most 255 bytes, cut at a character boundary.  validhost(h) tells whether h is a host
# name the service accepts, validdev(d) a GPU device id.
HJO_AWK_LIB='
function jinit(  i) { for (i = 1; i < 256; i++) ORD[sprintf("%c", i)] = i }
function jstr(s, name,   out, i, n, c, b, need, j, k, ok, used, w, piece) {
        out = ""; n = length(s); i = 1; used = 0
        while (i <= n) {
                c = substr(s, i, 1); b = ORD[c]; need = 0; w = 1
                if (b < 32 && name) { piece = "\357\277\275"; w = 3 }
                else if (c == "\"") piece = "\\\""
                else if (c == "\\") piece = "\\\\"
                else if (b == 10) piece = "\\n"
                else if (b == 9) piece = "\\t"
                else if (b == 13) piece = "\\r"
                else if (b < 32) piece = sprintf("\\u%04x", b)
                else if (b < 128) piece = c
                else {
                        if (b >= 194 && b <= 223) need = 1
                        else if (b >= 224 && b <= 239) need = 2
                        else if (b >= 240 && b <= 244) need = 3
                        ok = (need > 0 && i + need <= n)
                        for (j = 1; ok && j <= need; j++) {
                                k = ORD[substr(s, i + j, 1)]
                                if (k < 128 || k > 191) ok = 0
                        }
                        if (ok) {
                                k = ORD[substr(s, i + 1, 1)]
                                if ((b == 224 && k < 160) || (b == 237 && k > 159) ||
                                    (b == 240 && k < 144) || (b == 244 && k > 143)) ok = 0
                        }
                        if (ok) { piece = substr(s, i, need + 1); w = need + 1 }
                        else { piece = "\\ufffd"; w = 3; need = 0 }
                }
                if (name && used + w > 255) break
                out = out piece; used += w; i += need + 1
        }
        return "\"" out "\""
}
function validdev(d) { return length(d) <= 128 && d ~ /^[A-Za-z0-9_:.-]+$/ }
function validhost(h,   n, i, c, label) {
        n = length(h)
        if (n < 1 || n > 255) return 0
        label = 0
        for (i = 1; i <= n; i++) {
                c = substr(h, i, 1)
                if (c == ".") {
                        if (label == 0 || substr(h, i - 1, 1) == "-") return 0
                        label = 0; continue
                }
                if (c !~ /[A-Za-z0-9_-]/) return 0
                if (c == "-" && label == 0) return 0
                if (++label > 63) return 0
        }
        return label > 0 && substr(h, n, 1) != "-"
}
'

# hjo_expand_hostlist LIST: one host per line.  Handles node[01-03,07], several bracket groups
# (r[1-2]n[01-02]), zero padding (width of the lower bound) and comma lists outside brackets
# (a[1-2],b3).  At most 4096 hosts (the API's limit); a malformed group is printed as is.
hjo_expand_hostlist() {
        HJO_HL=$1 awk '
        function item(s,   p, q, pre, inner, suf, nparts, parts, k, lo, hi, w, v, dash) {
                if (count >= 4096) return
                p = index(s, "[")
                if (p == 0) { print s; count++; return }
                q = index(substr(s, p + 1), "]")
                if (q == 0) { print s; count++; return }
                pre = substr(s, 1, p - 1); inner = substr(s, p + 1, q - 1); suf = substr(s, p + q + 1)
                nparts = split(inner, parts, ",")
                for (k = 1; k <= nparts; k++) {
                        dash = index(parts[k], "-")
                        if (dash) { lo = substr(parts[k], 1, dash - 1); hi = substr(parts[k], dash + 1) }
                        else { lo = parts[k]; hi = parts[k] }
                        if (lo !~ /^[0-9]+$/ || hi !~ /^[0-9]+$/ || hi + 0 < lo + 0) {
                                print s; count++; return
                        }
                        w = length(lo)
                        for (v = lo + 0; v <= hi + 0 && count < 4096; v++)
                                item(pre sprintf("%0" w "d", v) suf)
                }
        }
        BEGIN {
                s = ENVIRON["HJO_HL"]; gsub(/[ \t\n]/, "", s)
                depth = 0; cur = ""; count = 0
                for (i = 1; i <= length(s); i++) {
                        c = substr(s, i, 1)
                        if (c == "[") depth++
                        else if (c == "]" && depth > 0) depth--
                        if (c == "," && depth == 0) { if (cur != "") item(cur); cur = "" }
                        else cur = cur c
                }
                if (cur != "") item(cur)
        }'
}

# hjo_cpus_total SPEC: total CPUs from SLURM_JOB_CPUS_PER_NODE ("4", "2(x3)", "4,2(x2)");
# prints nothing when SPEC is malformed.
hjo_cpus_total() {
        HJO_CPN=$1 awk 'BEGIN {
                s = ENVIRON["HJO_CPN"]; gsub(/[ \t]/, "", s)
                if (s == "") exit
                n = split(s, parts, ","); total = 0
                for (i = 1; i <= n; i++) {
                        p = parts[i]
                        if (p ~ /^[0-9]+$/) total += p
                        else if (p ~ /^[0-9]+\(x[0-9]+\)$/) {
                                split(p, a, /\(x|\)/); total += a[1] * a[2]
                        } else exit
                }
                printf "%d\n", total
        }'
}

# hjo_json FIELD:TYPE...: a JSON object from the variables HJF_<FIELD>.  TYPE s: string (empty =
# null); t: a name (string sanitised as the service wants names); n: integer (empty or not
# digits = null); g: array of GPU device ids, one per line of the value (empty = [], invalid ids
# and duplicates dropped, at most 64); h: array of host names (likewise, at most 4096).
hjo_json() {
        for _hj_spec in "$@"; do
                # shellcheck disable=SC2163 # exporting the variable named by the spec
                export "HJF_${_hj_spec%%:*}"
        done
        HJO_JSPEC="$*" awk "$HJO_AWK_LIB"'
        BEGIN {
                jinit(); nf = split(ENVIRON["HJO_JSPEC"], spec, " "); out = "{"
                for (f = 1; f <= nf; f++) {
                        name = spec[f]; sub(/:.*/, "", name); t = spec[f]; sub(/.*:/, "", t)
                        v = ENVIRON["HJF_" name]
                        if (t == "s") val = (v == "") ? "null" : jstr(v, 0)
                        else if (t == "t") val = (v == "") ? "null" : jstr(v, 1)
                        else if (t == "n") val = (v ~ /^[0-9]+$/ && length(v) < 16) ? v + 0 : "null"
                        else {
                                val = "["; m = split(v, items, "\n"); cnt = 0
                                split("", seen)
                                for (k = 1; k <= m; k++) {
                                        x = items[k]
                                        if (x == "" || (x in seen)) continue
                                        if (t == "h" && (!validhost(x) || cnt >= 4096)) continue
                                        if (t == "g" && (!validdev(x) || cnt >= 64)) continue
                                        seen[x] = 1
                                        val = val (cnt++ ? "," : "") jstr(x, 0)
                                }
                                val = val "]"
                        }
                        out = out (f > 1 ? "," : "") jstr(name, 0) ":" val
                }
                print out "}"
        }'
}

# ---- logging and configuration ---------------------------------------------------------------

hjo_log() {
        _hl_msg="${hjo_ctx:-hook} job ${hjo_jobid:-?}: $*"
        case ${HJO_LOG:-auto} in
        stderr) printf 'hjo-hook: %s\n' "$_hl_msg" >&2 ;;
        syslog) logger -t hjo-hook -- "$_hl_msg" 2>/dev/null </dev/null || true ;;
        *)
                if ! command -v logger >/dev/null 2>&1 ||
                        ! logger -t hjo-hook -- "$_hl_msg" 2>/dev/null </dev/null; then
                        printf 'hjo-hook: %s\n' "$_hl_msg" >&2
                fi
                ;;
        esac
        return 0
}

# hjo_trusted FILE: FILE is owned by root or by us and not writable by group or others.
hjo_trusted() {
        # shellcheck disable=SC2012 # ls -ln is the portable way to read owner and mode
        _ht_l=$(ls -lnL -- "$1" 2>/dev/null) || return 1
        _ht_mode=$(printf '%s\n' "$_ht_l" | awk '{ print $1 }')
        _ht_uid=$(printf '%s\n' "$_ht_l" | awk '{ print $3 }')
        [ "$_ht_uid" = 0 ] || [ "$_ht_uid" = "$(id -u)" ] || return 1
        case $_ht_mode in
        ?????w????* | ????????w?*) return 1 ;;
        esac
        return 0
}

HJO_CONF_KEYS=' OBSERVABILITY_URL HJO_SPOOL_DIR HJO_HOOK_MODE HJO_CONNECT_TIMEOUT HJO_MAX_TIME HJO_FLUSH_MAX HJO_FLUSH_SECONDS HJO_ASK_SLURMCTLD HJO_SCONTROL_TIMEOUT HJO_TOKEN_FILE HJO_CA_FILE HJO_LOG HJO_EXTRA_PATH HJO_SCONTROL HJO_NVIDIA_SMI HJO_ROCM_SMI HJO_CGROUP_ROOT '

# hjo_conf_load FILE: KEY=VALUE lines (# comments, optional quotes around VALUE); a key already
# set in the environment keeps its value.  Unknown keys are logged and ignored.
hjo_conf_load() {
        [ -f "$1" ] || return 0
        if ! hjo_trusted "$1"; then
                hjo_log "ignoring $1: not owned by root or writable by group/others"
                return 0
        fi
        while IFS= read -r _hc_line || [ -n "$_hc_line" ]; do
                case $_hc_line in '' | '#'*) continue ;; esac
                case $_hc_line in *=*) ;; *) continue ;; esac
                _hc_key=$(printf '%s' "${_hc_line%%=*}" | sed 's/^[[:space:]]*//; s/^export[[:space:]]*//; s/[[:space:]]*$//')
                _hc_val=$(printf '%s' "${_hc_line#*=}" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
                case $_hc_val in
                \"*\") _hc_val=${_hc_val#\"} _hc_val=${_hc_val%\"} ;;
                \'*\') _hc_val=${_hc_val#\'} _hc_val=${_hc_val%\'} ;;
                esac
                case $HJO_CONF_KEYS in
                *" $_hc_key "*) ;;
                *)
                        hjo_log "ignoring unknown key in $1"
                        continue
                        ;;
                esac
                eval "_hc_set=\${$_hc_key+x}"
                [ -n "$_hc_set" ] || eval "$_hc_key=\$_hc_val"
        done <"$1"
        return 0
}

# hjo_int VALUE DEFAULT MAX: VALUE when it is an integer 1..MAX, else DEFAULT.
hjo_int() {
        case $1 in
        '' | *[!0-9]*) echo "$2" ;;
        *) if [ "$1" -ge 1 ] && [ "$1" -le "$3" ]; then echo "$1"; else echo "$2"; fi ;;
        esac
}

hjo_config() {
        hjo_conf_load "${HJO_HOOKS_CONF:-/etc/hjo/hooks.conf}"
        hjo_url=${OBSERVABILITY_URL:-http://localhost:8080}
        hjo_url=${hjo_url%/}
        hjo_spool=${HJO_SPOOL_DIR:-/var/spool/hjo}
        hjo_mode=${HJO_HOOK_MODE:-auto}
        case $hjo_mode in auto | slurmd | slurmctld | off) ;; *) hjo_mode=auto ;; esac
        hjo_ct=$(hjo_int "${HJO_CONNECT_TIMEOUT:-}" 2 60)
        hjo_mt=$(hjo_int "${HJO_MAX_TIME:-}" 5 300)
        hjo_fmax=$(hjo_int "${HJO_FLUSH_MAX:-}" 100 10000)
        hjo_fsecs=$(hjo_int "${HJO_FLUSH_SECONDS:-}" 8 3600)
        hjo_sct=$(hjo_int "${HJO_SCONTROL_TIMEOUT:-}" 3 60)
        if [ -n "${HJO_EXTRA_PATH:-}" ]; then
                PATH=$PATH:$HJO_EXTRA_PATH
        fi
        hjo_token=''
        if [ -n "${HJO_TOKEN_FILE:-}" ] && [ -f "$HJO_TOKEN_FILE" ]; then
                # shellcheck disable=SC2012
                _hc_mode=$(ls -lnL -- "$HJO_TOKEN_FILE" 2>/dev/null | awk '{ print $1 }')
                case $_hc_mode in
                -r[w-]-------*)
                        if hjo_trusted "$HJO_TOKEN_FILE"; then
                                hjo_token=$(head -n 1 "$HJO_TOKEN_FILE" | tr -d ' \t\r')
                        fi
                        ;;
                esac
                case $hjo_token in
                *[!A-Za-z0-9._~+/=-]*)
                        hjo_log "ignoring token file: unexpected characters"
                        hjo_token=''
                        ;;
                esac
                [ -n "$hjo_token" ] || hjo_log "token file $HJO_TOKEN_FILE not used (must be owned by root, mode 0600)"
        fi
}

# ---- what Slurm tells us -----------------------------------------------------------------

hjo_timeout() { # SECONDS CMD...: run CMD bounded by timeout(1) when available
        _ht_s=$1
        shift
        if command -v timeout >/dev/null 2>&1; then
                timeout -k 1 "$_ht_s" "$@"
        else
                "$@"
        fi
}

hjo_now() { # [EPOCH]: RFC 3339 UTC timestamp, microseconds when date(1) has them
        if [ -n "${1:-}" ] && _hn_t=$(date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null); then
                echo "$_hn_t"
                return 0
        fi
        _hn_t=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ 2>/dev/null) || _hn_t=''
        case $_hn_t in
        ????-??-??T??:??:??.[0-9][0-9][0-9][0-9][0-9][0-9]Z) echo "$_hn_t" ;;
        *) date -u +%Y-%m-%dT%H:%M:%SZ ;;
        esac
}

hjo_cmd() { # NAME DEFAULT: the configured command, or DEFAULT when in PATH; empty when neither
        if [ -n "$1" ]; then
                [ -x "$1" ] && echo "$1"
        elif command -v "$2" >/dev/null 2>&1; then
                command -v "$2"
        fi
        return 0
}

# hjo_gpus: sets gpu_count, gpu_vendor, gpu_devices (newline-separated) from SLURM_JOB_GPUS or
# CUDA_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES: host-side indices, resolved to UUIDs with
# nvidia-smi (NVIDIA) or rocm-smi (AMD) when present.
hjo_gpus() {
        _hg_list=${SLURM_JOB_GPUS:-${CUDA_VISIBLE_DEVICES:-${ROCR_VISIBLE_DEVICES:-}}}
        gpu_devices=''
        gpu_count=0
        gpu_vendor=none
        case $_hg_list in '' | NoDevFiles | none) return 0 ;; esac
        _hg_idx=$(printf '%s\n' "$_hg_list" | tr ',' '\n' | awk 'NF { gsub(/[ \t]/, ""); print }')
        gpu_count=$(printf '%s\n' "$_hg_idx" | awk 'NF { n++ } END { print n + 0 }')
        gpu_vendor=''
        _hg_map=''
        _hg_nv=$(hjo_cmd "${HJO_NVIDIA_SMI:-}" nvidia-smi)
        if [ -n "$_hg_nv" ]; then
                _hg_map=$(hjo_timeout 5 "$_hg_nv" --query-gpu=index,uuid --format=csv,noheader \
                        </dev/null 2>/dev/null | awk -F', *' 'NF >= 2 && $1 ~ /^[0-9]+$/ { print $1, $2 }') || _hg_map=''
                [ -z "$_hg_map" ] || gpu_vendor=nvidia
        fi
        if [ -z "$_hg_map" ]; then
                _hg_rs=$(hjo_cmd "${HJO_ROCM_SMI:-}" rocm-smi)
                if [ -n "$_hg_rs" ]; then
                        _hg_map=$(hjo_timeout 5 "$_hg_rs" --showuniqueid --csv </dev/null 2>/dev/null |
                                awk -F, '$1 ~ /^card[0-9]+$/ && NF >= 2 { sub(/^card/, "", $1); print $1, $2 }') || _hg_map=''
                        [ -z "$_hg_map" ] || gpu_vendor=amd
                fi
        fi
        if [ -z "$gpu_vendor" ]; then
                if [ -e /dev/nvidiactl ] || [ -e /dev/nvidia0 ]; then
                        gpu_vendor=nvidia
                elif [ -e /dev/kfd ]; then
                        gpu_vendor=amd
                fi
        fi
        gpu_devices=$(printf '%s\n' "$_hg_idx" | HJO_MAP=$_hg_map awk '
                BEGIN { n = split(ENVIRON["HJO_MAP"], l, "\n")
                        for (i = 1; i <= n; i++) { split(l[i], f, " "); if (f[2] != "") m[f[1]] = f[2] } }
                NF { print (($1 in m) ? m[$1] : $1) }')
}

# hjo_cgroup JOBID UID NODE: the job's cgroup directory when it exists (v2 scope under the
# cgroup of PID 1, with or without the node name; v1 memory/cpuacct slurm[_node]/uid_U/job_N).
hjo_cgroup() {
        _hc_root=${HJO_CGROUP_ROOT:-/sys/fs/cgroup}
        if [ -f "$_hc_root/cgroup.controllers" ]; then
                _hc_base=$(sed -n 's/^0:://p' /proc/1/cgroup 2>/dev/null | head -n 1) || _hc_base=''
                _hc_base=${_hc_base%/init.scope}
                _hc_base=${_hc_base%/}
                for _hc_b in "$_hc_root$_hc_base" "$_hc_root"; do
                        for _hc_s in slurmstepd.scope "${3}_slurmstepd.scope"; do
                                for _hc_j in "job_$1" "${SLURM_JOB_SLUID:-job_$1}"; do
                                        if [ -d "$_hc_b/system.slice/$_hc_s/$_hc_j" ]; then
                                                echo "$_hc_b/system.slice/$_hc_s/$_hc_j"
                                                return 0
                                        fi
                                done
                        done
                done
        else
                for _hc_c in memory cpuacct cpu,cpuacct; do
                        for _hc_s in slurm "slurm_$3"; do
                                if [ -d "$_hc_root/$_hc_c/$_hc_s/uid_$2/job_$1" ]; then
                                        echo "$_hc_root/$_hc_c/$_hc_s/uid_$2/job_$1"
                                        return 0
                                fi
                        done
                done
        fi
        return 0
}

# hjo_cgroup_mem_mb DIR: the job's memory limit in MiB (v2 memory.max, v1 memory.limit_in_bytes).
hjo_cgroup_mem_mb() {
        for _hm_f in "$1/memory.max" "$1/memory.limit_in_bytes"; do
                [ -r "$_hm_f" ] || continue
                awk '$1 ~ /^[0-9]+$/ && $1 < 2^50 { printf "%d\n", $1 / 1048576 }' "$_hm_f" 2>/dev/null || true
                return 0
        done
        return 0
}

# hjo_exit: sets exit_code, exit_signal, final_state, slurm_state for job-finished.
hjo_exit() {
        exit_code=''
        exit_signal=''
        final_state=''
        slurm_state=''
        _he_ec2=${SLURM_JOB_EXIT_CODE2:-}
        _he_raw=${SLURM_JOB_EXIT_CODE:-}
        case $_he_ec2 in
        [0-9]*:[0-9]*)
                exit_code=${_he_ec2%%:*}
                exit_signal=${_he_ec2#*:}
                ;;
        *)
                case $_he_raw in
                '' | *[!0-9]*) ;;
                *)
                        exit_code=$(((_he_raw >> 8) & 255))
                        exit_signal=$((_he_raw & 127))
                        ;;
                esac
                ;;
        esac
        case $exit_code:$exit_signal in *[!0-9:]* | ??????*:* | *:?????*) exit_code='' exit_signal='' ;; esac

        # In Slurm 22.05 both epilogs see 0:0 for scancel and time limits: ask slurmctld where
        # that is allowed, otherwise the exit is unknown (reconciliation settles it).
        if [ "$exit_code:$exit_signal" = 0:0 ] || [ -z "$exit_code" ]; then
                case $hjo_ctx in
                epilog_slurmctld) hjo_ask_slurmctld ;;
                epilog_slurmd)
                        exit_code=''
                        exit_signal=''
                        ;;
                esac
        elif [ "$hjo_ctx" = epilog_slurmctld ]; then
                # scancel, time limits and preemption can also end with an exit that looks
                # like a plain failure (a shell that exits 143 after its child died of SIGTERM,
                # seen in the lab under load): the controller's JobState says what happened.
                hjo_slurmctld_state
        fi

        if [ -n "$exit_signal" ] && [ "$exit_signal" -gt 64 ]; then
                # Slurm's internal markers: 125 = out of memory; others: a failure.
                if [ "$exit_signal" = 125 ]; then
                        [ -n "$slurm_state" ] || slurm_state=OUT_OF_MEMORY
                else
                        final_state=failed
                fi
                exit_signal=''
        fi
        [ -z "$exit_code" ] || [ "$exit_code" -le 255 ] || exit_code=''
        return 0
}

# hjo_ask_slurmctld: EpilogSlurmctld saw 0:0, which in 22.05 may hide scancel or a time limit.
# While the epilog runs, `scontrol show job` has the truth (ExitCode=0:15, Reason=TimeLimit), except
# when it still says Reason=Prolog with ExitCode=0:0: a job cancelled while its prolog ran looks
# like that, and so does a short job that completed normally while the reason was stale (seen
# in the lab under load).  Asked again twice; if it stays so, the exit is sent as unknown and
# reconciliation settles the state from Slurm's final JobState -- never a guess.
hjo_ask_slurmctld() {
        _ha_ec=''
        _ha_reason=''
        _ha_state=''
        case ${HJO_ASK_SLURMCTLD:-yes} in no | false | 0 | off) _ha_sc='' ;; *) _ha_sc=$(hjo_cmd "${HJO_SCONTROL:-}" scontrol) ;; esac
        _ha_try=0
        while [ -n "$_ha_sc" ]; do
                _ha_line=$(hjo_timeout "$hjo_sct" "$_ha_sc" show job -o "$SLURM_JOB_ID" </dev/null 2>/dev/null) || _ha_line=''
                _ha_ec=$(printf '%s\n' "$_ha_line" | sed -n 's/.* ExitCode=\([0-9]*:[0-9]*\).*/\1/p' | head -n 1)
                _ha_reason=$(printf '%s\n' "$_ha_line" | sed -n 's/.* Reason=\([^ ]*\).*/\1/p' | head -n 1)
                _ha_state=$(printf '%s\n' "$_ha_line" | sed -n 's/.* JobState=\([A-Z_]*\).*/\1/p' | head -n 1)
                if [ "$_ha_ec:$_ha_reason" = 0:0:Prolog ] && [ "$_ha_try" -lt 2 ]; then
                        _ha_try=$((_ha_try + 1))
                        sleep 1
                        continue
                fi
                break
        done
        if [ -z "$_ha_ec" ]; then
                exit_code=''
                exit_signal=''
                return 0
        fi
        exit_code=${_ha_ec%%:*}
        exit_signal=${_ha_ec#*:}
        case $_ha_state in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | OUT_OF_MEMORY | NODE_FAIL | PREEMPTED | BOOT_FAIL | DEADLINE)
                slurm_state=$_ha_state
                ;;
        esac
        if [ -z "$slurm_state" ] && [ "$_ha_reason" = TimeLimit ]; then
                slurm_state=TIMEOUT
        fi
        if [ "$_ha_ec:$_ha_reason" = 0:0:Prolog ] && [ -z "$slurm_state" ]; then
                exit_code=''
                exit_signal=''
        fi
        return 0
}

# hjo_slurmctld_state: the job's final JobState from slurmctld (EpilogSlurmctld only, one try,
# bounded by the scontrol timeout); sets slurm_state and leaves the exit details alone.
hjo_slurmctld_state() {
        case ${HJO_ASK_SLURMCTLD:-yes} in no | false | 0 | off) return 0 ;; esac
        _hs_sc=$(hjo_cmd "${HJO_SCONTROL:-}" scontrol)
        [ -n "$_hs_sc" ] || return 0
        _hs_line=$(hjo_timeout "$hjo_sct" "$_hs_sc" show job -o "$SLURM_JOB_ID" </dev/null 2>/dev/null) || _hs_line=''
        _hs_state=$(printf '%s\n' "$_hs_line" | sed -n 's/.* JobState=\([A-Z_]*\).*/\1/p' | head -n 1)
        case $_hs_state in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | OUT_OF_MEMORY | NODE_FAIL | PREEMPTED | BOOT_FAIL | DEADLINE)
                slurm_state=$_hs_state
                ;;
        esac
        return 0
}

# ---- spool and delivery --------------------------------------------------------------------

# hjo_spool_put TYPE BODY: writes the event atomically as <epoch.ns>-<rank>-<type>-<job>-<ctx>.json
hjo_spool_put() {
        _hs_ts=$(date -u +%s.%N 2>/dev/null) || _hs_ts=''
        case $_hs_ts in
        [0-9]*.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]) ;;
        *) _hs_ts="$(date -u +%s).000000000" ;;
        esac
        case $1 in job-started) _hs_rank=1 ;; *) _hs_rank=2 ;; esac
        hjo_spool_name="$_hs_ts-$_hs_rank-$1-$hjo_jobid-$hjo_ctx.json"
        _hs_tmp=$(mktemp "$hjo_spool/.tmp.XXXXXX" 2>/dev/null) || return 1
        if printf '%s\n' "$2" >"$_hs_tmp" && mv -f "$_hs_tmp" "$hjo_spool/$hjo_spool_name"; then
                return 0
        fi
        rm -f "$_hs_tmp"
        return 1
}

# hjo_post FILE NAME: 0 delivered, 1 rejected (4xx), 2 not delivered (keep it).
hjo_post() {
        case $2 in
        *-job-started-*) _hp_ep=job-started ;;
        *-job-finished-*) _hp_ep=job-finished ;;
        *) return 1 ;;
        esac
        _hp_ctx=${2##*-}
        _hp_ctx=${_hp_ctx%.json}
        case $_hp_ctx in
        prolog_slurmd) _hp_src=slurm-prolog ;;
        epilog_slurmd) _hp_src=slurm-epilog ;;
        prolog_slurmctld) _hp_src=slurm-prolog-slurmctld ;;
        epilog_slurmctld) _hp_src=slurm-epilog-slurmctld ;;
        *) _hp_src=slurm-hook-manual ;;
        esac
        hjo_resp=''
        hjo_code=000
        if ! command -v curl >/dev/null 2>&1; then
                hjo_why='curl not found'
                return 2
        fi
        set -- "$1" curl -sS -o "$hjo_spool_tmp.resp" -w '%{http_code}' --proto '=http,https' \
                --connect-timeout "$hjo_ct" --max-time "$hjo_mt" \
                -H 'Content-Type: application/json' -H "X-Source: $_hp_src" \
                -H "X-Correlation-Id: hjo-hook:${2%.json}" -H 'Expect:'
        [ -z "${HJO_CA_FILE:-}" ] || set -- "$@" --cacert "$HJO_CA_FILE"
        _hp_file=$1
        shift
        _hp_rc=0
        if [ -n "$hjo_token" ]; then
                # The token goes through curl's stdin config, never its command line.
                hjo_code=$(printf 'header = "Authorization: Bearer %s"\n' "$hjo_token" |
                        hjo_timeout $((hjo_mt + 2)) "$@" -K - --data-binary "@$_hp_file" \
                                "$hjo_url/v1/events/$_hp_ep" 2>"$hjo_spool_tmp.err") || _hp_rc=$?
        else
                hjo_code=$(hjo_timeout $((hjo_mt + 2)) "$@" --data-binary "@$_hp_file" \
                        "$hjo_url/v1/events/$_hp_ep" </dev/null 2>"$hjo_spool_tmp.err") || _hp_rc=$?
        fi
        # The API answers one line of JSON; read it without forking (this runs per event).
        hjo_resp=''
        [ ! -f "$hjo_spool_tmp.resp" ] || IFS= read -r hjo_resp <"$hjo_spool_tmp.resp" || true
        : >"$hjo_spool_tmp.resp"
        case $hjo_code in
        2??) return 0 ;;
        408 | 429) ;;
        4??) return 1 ;;
        esac
        hjo_why="HTTP $hjo_code"
        if [ "$_hp_rc" -ne 0 ]; then
                hjo_why="curl exit $_hp_rc: $(head -n 1 "$hjo_spool_tmp.err" 2>/dev/null | tr -c '[:print:]' ' ')"
        fi
        return 2
}

# hjo_lock / hjo_unlock: one flusher per spool directory (flock, else a mkdir lock that a
# killed hook leaves behind for at most 120 s).
hjo_lock() {
        if command -v flock >/dev/null 2>&1; then
                exec 9>"$hjo_spool/.lock" || return 1
                flock -n 9 || { exec 9>&-; return 1; }
                return 0
        fi
        if mkdir "$hjo_spool/.lock.d" 2>/dev/null; then
                return 0
        fi
        if [ -n "$(find "$hjo_spool/.lock.d" -maxdepth 0 -mmin +2 2>/dev/null)" ]; then
                rmdir "$hjo_spool/.lock.d" 2>/dev/null || true
                mkdir "$hjo_spool/.lock.d" 2>/dev/null && return 0
        fi
        return 1
}

hjo_unlock() {
        if command -v flock >/dev/null 2>&1; then
                exec 9>&-
        else
                rmdir "$hjo_spool/.lock.d" 2>/dev/null || true
        fi
        return 0
}

hjo_event_name() { # NAME: sets hjo_evname to "job-started slurm-42" (no fork: runs per event)
        _hen=${1#*-*-}
        _hen_n=${_hen#*-slurm-}
        hjo_evname="${_hen%%-slurm-*} slurm-${_hen_n%%-*}"
}

# hjo_flush: delivers spooled events oldest first, stops at the first failure, at most
# hjo_fmax events and hjo_fsecs seconds.
hjo_flush() {
        _hf_start=$(date +%s)
        _hf_n=0
        while :; do
                hjo_lock || return 0
                _hf_stop=''
                while :; do
                        set -- "$hjo_spool"/[0-9]*.json
                        [ -e "$1" ] || break
                        if [ "$_hf_n" -ge "$hjo_fmax" ] ||
                                [ $(($(date +%s) - _hf_start)) -ge "$hjo_fsecs" ]; then
                                _hf_stop=budget
                                break
                        fi
                        _hf_n=$((_hf_n + 1))
                        _hf_name=${1##*/}
                        _hf_rc=0
                        hjo_post "$1" "$_hf_name" || _hf_rc=$?
                        hjo_event_name "$_hf_name"
                        _hf_ev=$hjo_evname
                        _hf_sum=''
                        if [ "$_hf_name" = "${hjo_spool_name:-}" ]; then
                                _hf_sum=" ($hjo_summary)"
                                hjo_current_logged=1
                        fi
                        case $_hf_rc in
                        0)
                                rm -f "$1"
                                case $hjo_resp in
                                *'"status":"created"'*) _hf_st=created ;;
                                *'"status":"updated"'*) _hf_st=updated ;;
                                *'"status":"skipped"'*) _hf_st=skipped ;;
                                *) _hf_st='' ;;
                                esac
                                hjo_log "delivered $_hf_ev: ${_hf_st:-HTTP $hjo_code}$_hf_sum"
                                ;;
                        1)
                                mkdir -p "$hjo_spool/rejected" 2>/dev/null || true
                                mv -f "$1" "$hjo_spool/rejected/" 2>/dev/null || rm -f "$1"
                                hjo_log "rejected $_hf_ev: HTTP $hjo_code $(printf '%.300s' "$hjo_resp" | tr -c '[:print:]' ' ')$_hf_sum (kept in $hjo_spool/rejected, not retried)"
                                ;;
                        *)
                                hjo_log "spooled $_hf_ev for later: $hjo_url unreachable ($hjo_why)$_hf_sum"
                                _hf_stop=fail
                                break
                                ;;
                        esac
                done
                hjo_unlock
                # An event spooled by a hook that found the lock taken is picked up here.
                [ -z "$_hf_stop" ] || break
                set -- "$hjo_spool"/[0-9]*.json
                [ -e "$1" ] || break
        done
        if [ "$_hf_stop" = budget ]; then
                hjo_log "spool: $# event(s) left for the next run (budget of $hjo_fmax events / $hjo_fsecs s)"
        fi
        if [ -z "$hjo_current_logged" ] && [ -n "${hjo_spool_name:-}" ] && [ -e "$hjo_spool/$hjo_spool_name" ]; then
                hjo_event_name "$hjo_spool_name"
                hjo_log "spooled $hjo_evname ($hjo_summary) behind older events or another hook's delivery"
        fi
        return 0
}

# ---- the event -------------------------------------------------------------------------------

# shellcheck disable=SC2034 # the HJF_* variables are read by hjo_json through the environment
hjo_build_event() {
        _hb_nodes=''
        _hb_list=${SLURM_JOB_NODELIST:-${SLURM_NODELIST:-}}
        if [ -n "$_hb_list" ]; then
                _hb_nodes=$(hjo_expand_hostlist "$_hb_list")
        elif [ "$hjo_kind" = manual ]; then
                _hb_nodes=$(hostname -s 2>/dev/null || hostname)
        fi
        # Only the head node of a multi-node job speaks for it.
        _hb_me=${SLURMD_NODENAME:-}
        _hb_first=$(printf '%s\n' "$_hb_nodes" | head -n 1)
        if [ "$hjo_kind" = slurmd ] && [ -n "$_hb_me" ] && [ -n "$_hb_first" ] && [ "$_hb_me" != "$_hb_first" ]; then
                hjo_event=''
                return 0
        fi
        if [ "$hjo_kind" = manual ] && [ -n "${SLURM_NODEID:-}" ] && [ "$SLURM_NODEID" != 0 ]; then
                hjo_event=''
                return 0
        fi

        HJF_job_id=$hjo_jobid
        HJF_user=${SLURM_JOB_USER:-}
        if [ -z "$HJF_user" ] && [ -n "${SLURM_JOB_UID:-}" ]; then
                HJF_user=$(id -nu "$SLURM_JOB_UID" 2>/dev/null) || HJF_user="uid-$SLURM_JOB_UID"
        fi
        HJF_node_list=$_hb_nodes
        HJF_partition=${SLURM_JOB_PARTITION:-}
        HJF_account=${SLURM_JOB_ACCOUNT:-}
        [ "$HJF_account" != '(null)' ] || HJF_account=''
        HJF_cluster=${SLURM_CLUSTER_NAME:-}

        if [ "$hjo_type" = job-started ]; then
                [ -n "$HJF_user" ] || HJF_user=unknown
                HJF_timestamp=$(hjo_now "${SLURM_JOB_START_TIME:-}")
                HJF_cpu_allocation=$(hjo_cpus_total "${SLURM_JOB_CPUS_PER_NODE:-}")
                _hb_nn=${SLURM_JOB_NUM_NODES:-1}
                case $_hb_nn in '' | *[!0-9]* | 0) _hb_nn=1 ;; esac
                HJF_memory_allocation_mb=''
                case ${SLURM_MEM_PER_NODE:-} in
                '' | *[!0-9]*) ;;
                *) HJF_memory_allocation_mb=$((SLURM_MEM_PER_NODE * _hb_nn)) ;;
                esac
                HJF_gpu_allocation=''
                HJF_gpu_vendor=''
                HJF_gpu_devices=''
                HJF_cgroup_path=''
                if [ "$hjo_kind" != slurmctld ]; then
                        # Node-local facts: GPUs and the job's cgroup.
                        hjo_gpus
                        HJF_gpu_allocation=$gpu_count
                        HJF_gpu_vendor=$gpu_vendor
                        HJF_gpu_devices=$gpu_devices
                        HJF_cgroup_path=$(hjo_cgroup "$SLURM_JOB_ID" "${SLURM_JOB_UID:-0}" "${SLURMD_NODENAME:-$_hb_first}")
                        if [ -z "$HJF_memory_allocation_mb" ] && [ -n "$HJF_cgroup_path" ]; then
                                _hb_mem=$(hjo_cgroup_mem_mb "$HJF_cgroup_path")
                                [ -z "$_hb_mem" ] || HJF_memory_allocation_mb=$((_hb_mem * _hb_nn))
                        fi
                        if [ "$hjo_kind" = slurmd ] && [ "$hjo_mode" = slurmctld ] &&
                                [ -z "$HJF_gpu_devices" ] && [ -z "$HJF_cgroup_path" ]; then
                                # The controller sends the lifecycle; nothing local to add.
                                hjo_event=''
                                return 0
                        fi
                fi
                hjo_event=$(hjo_json job_id:s user:t node_list:h timestamp:s cpu_allocation:n \
                        memory_allocation_mb:n gpu_allocation:n gpu_vendor:s gpu_devices:g \
                        cgroup_path:s partition:t account:t cluster:t)
                hjo_summary="user=$HJF_user nodes=$(printf '%s\n' "$_hb_nodes" | awk 'NF { n++ } END { print n + 0 }') cpus=${HJF_cpu_allocation:-?} gpus=${HJF_gpu_allocation:-?}"
        else
                HJF_timestamp=$(hjo_now "${SLURM_JOB_END_TIME:-}")
                hjo_exit
                HJF_exit_code=$exit_code
                HJF_signal=$exit_signal
                HJF_final_state=$final_state
                HJF_slurm_state=$slurm_state
                hjo_event=$(hjo_json job_id:s timestamp:s exit_code:n signal:n final_state:s \
                        slurm_state:s user:t node_list:h partition:t account:t cluster:t)
                hjo_summary="exit=${exit_code:-unknown}:${exit_signal:-unknown}${slurm_state:+ $slurm_state}"
        fi
        return 0
}

hjo_main() {
        hjo_ctx=${SLURM_SCRIPT_CONTEXT:-}
        case $hjo_ctx in
        prolog_slurmd | epilog_slurmd) hjo_kind=slurmd ;;
        prolog_slurmctld | epilog_slurmctld) hjo_kind=slurmctld ;;
        '')
                hjo_kind=manual
                case ${0##*/} in
                *epilog*) hjo_ctx=epilog_manual ;;
                *prolog*) hjo_ctx=prolog_manual ;;
                *) case $0 in *epilog*) hjo_ctx=epilog_manual ;; *) hjo_ctx=prolog_manual ;; esac ;;
                esac
                ;;
        *)
                hjo_log "unknown SLURM_SCRIPT_CONTEXT; nothing sent"
                return 0
                ;;
        esac
        case $hjo_ctx in prolog_*) hjo_type=job-started ;; *) hjo_type=job-finished ;; esac

        hjo_config

        hjo_jobid=''
        case ${SLURM_JOB_ID:-${SLURM_JOBID:-}} in
        '' | *[!0-9]*) ;;
        *) hjo_jobid=slurm-${SLURM_JOB_ID:-$SLURM_JOBID} ;;
        esac
        SLURM_JOB_ID=${SLURM_JOB_ID:-${SLURM_JOBID:-}}

        _hm_send=1
        case $hjo_mode:$hjo_kind in
        off:*) return 0 ;;
        slurmd:slurmctld) _hm_send='' ;;
        slurmctld:slurmd) [ "$hjo_type" = job-started ] || _hm_send='' ;;
        esac
        if [ -z "$hjo_jobid" ]; then
                hjo_log "no valid SLURM_JOB_ID; nothing sent"
                _hm_send=''
        fi

        hjo_event=''
        [ -z "$_hm_send" ] || hjo_build_event

        hjo_spool_ok=''
        if [ ! -d "$hjo_spool" ]; then
                mkdir -p "${hjo_spool%/*}" 2>/dev/null || true
                mkdir -m 700 "$hjo_spool" 2>/dev/null || true
        fi
        if [ -d "$hjo_spool" ] && [ -w "$hjo_spool" ]; then
                hjo_spool_ok=1
        fi
        if [ -z "$hjo_spool_ok" ]; then
                # No spool: one direct attempt, and say so when the event is lost.
                [ -n "$hjo_event" ] || return 0
                hjo_spool=${TMPDIR:-/tmp}
                hjo_spool_tmp=$(mktemp "${TMPDIR:-/tmp}/hjo-hook.XXXXXX") || return 0
                printf '%s\n' "$hjo_event" >"$hjo_spool_tmp"
                _hm_rc=0
                hjo_post "$hjo_spool_tmp" "0-0-$hjo_type-$hjo_jobid-$hjo_ctx.json" || _hm_rc=$?
                case $_hm_rc in
                0) hjo_log "delivered $hjo_type $hjo_jobid: direct ($hjo_summary)" ;;
                1) hjo_log "rejected $hjo_type $hjo_jobid: HTTP $hjo_code $hjo_resp" ;;
                *) hjo_log "LOST $hjo_type $hjo_jobid: spool directory unusable and $hjo_url unreachable ($hjo_why)" ;;
                esac
                rm -f "$hjo_spool_tmp" "$hjo_spool_tmp.err"
                return 0
        fi
        hjo_spool_tmp="$hjo_spool/.run.$$"
        hjo_current_logged=''
        hjo_spool_name=''
        if [ -n "$hjo_event" ]; then
                if ! hjo_spool_put "$hjo_type" "$hjo_event"; then
                        hjo_log "LOST $hjo_type $hjo_jobid: could not write to $hjo_spool"
                fi
        fi
        hjo_flush
        rm -f "$hjo_spool_tmp.err" "$hjo_spool_tmp.resp"
        return 0
}

case ${1:-} in
--expand-hostlist)
        hjo_expand_hostlist "${2:-}"
        exit 0
        ;;
--cpus-total)
        hjo_cpus_total "${2:-}"
        exit 0
        ;;
--json-string)
        # shellcheck disable=SC2034 # read by hjo_json
        HJF_v=${2:-}
        hjo_json v:s
        hjo_json v:t
        exit 0
        ;;
--version)
        echo "hjo-hook $HJO_HOOK_VERSION"
        exit 0
        ;;
esac

hjo_main || true
exit 0
