#!/usr/bin/env bash
# HTTP benchmark of `lore serve`: wrk against /health/live and /v1/search on
# the SciFact corpus, next to nginx serving static JSON files of the same
# sizes in the same run (the ceiling of this machine), plus the idle RSS of
# the server. See bench/README.md ("http.sh") for what each figure means.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/http.sh [--duration S] [--rounds N] [--keep]

Benchmarks lore's HTTP server with wrk (2 threads, 50 connections):
  1. installs wrk, nginx, curl and jq when missing (apt-get; sudo when not root;
     nginx's system service is never started);
  2. builds Release: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
     && cmake --build build/release -j2 --target lore;
  3. idle RSS: `lore serve` on a fresh data directory (one empty tenant), VmRSS
     after 1 s, after a few health requests and after one search;
  4. ingests SciFact (../shared/data/beir/scifact/corpus.jsonl) into a fresh
     data directory and serves it with rate limits and the access log off;
  5. for each of N rounds, interleaved: nginx static JSON the size of
     /health/live's answer, lore GET /health/live, nginx static JSON the size
     of the median search answer, lore GET /v1/search?q=... and POST
     /v1/search (rotating over all 1,109 SciFact queries, limit 10, default
     snippets); each a 2 s warm-up then a D-second `wrk --latency` run;
     then one GET search run with 1 connection (service time without
     queueing), and one /health/live and one GET search run with the access
     log on (stderr to /dev/null);
  6. prints a summary table (median req/s and p99 of the rounds, lore/nginx
     ratios, server CPU per request) and the aims; exits 1 if any wrk run saw
     socket errors or non-2xx answers.
Everything runs in a temporary directory, removed at the end with every
process this script started.

options:
  -d, --duration S   seconds per measured wrk run (default 10)
  -r, --rounds N     interleaved rounds; medians are over them (default 3)
  -k, --keep         keep the temporary directory (wrk outputs, logs)
  -h, --help         show this help

environment: LORE_BUILD_DIR (default build/release), LORE_SCIFACT_DIR
(default ../shared/data/beir/scifact). Run from the repository root.
EOF
}

die() {
    echo "http.sh: $*" >&2
    exit 2
}

duration=10
rounds=3
keep=0
warmup=2
wrk_threads=2
wrk_conns=50
while (($#)); do
    case "$1" in
    -h | --help)
        usage
        exit 0
        ;;
    -d | --duration)
        duration="${2:-}"
        shift 2 || die "--duration needs a value"
        ;;
    -r | --rounds)
        rounds="${2:-}"
        shift 2 || die "--rounds needs a value"
        ;;
    -k | --keep)
        keep=1
        shift
        ;;
    *)
        echo "http.sh: unknown argument '$1' (see --help)" >&2
        exit 1
        ;;
    esac
done
[[ "$duration" =~ ^[1-9][0-9]*$ ]] || {
    echo "http.sh: --duration '$duration' is not a positive number" >&2
    exit 1
}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || {
    echo "http.sh: --rounds '$rounds' is not a positive number" >&2
    exit 1
}

build="${LORE_BUILD_DIR:-build/release}"
data="${LORE_SCIFACT_DIR:-../shared/data/beir/scifact}"
# lore reads every LORE_* variable as a setting and refuses unknown ones.
unset LORE_BUILD_DIR LORE_SCIFACT_DIR
[[ -f CMakeLists.txt && -f bench/http_search.lua ]] ||
    die "run from the repository root (bench/http_search.lua not found)"
[[ -f "$data/corpus.jsonl" && -f "$data/queries.jsonl" ]] ||
    die "$data/corpus.jsonl or queries.jsonl not found (set LORE_SCIFACT_DIR)"

# ---- processes and the temporary directory, cleaned up on any exit ----

tmp=""
lore_pid=""
nginx_pid=""
policy_rc=""
stop_lore() {
    if [[ -n "$lore_pid" ]]; then
        kill -TERM "$lore_pid" 2>/dev/null || true
        wait "$lore_pid" 2>/dev/null || true
        lore_pid=""
    fi
}
stop_nginx() {
    if [[ -n "$nginx_pid" ]]; then
        kill -TERM "$nginx_pid" 2>/dev/null || true # fast shutdown of master and workers
        wait "$nginx_pid" 2>/dev/null || true
        nginx_pid=""
    fi
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_lore
    stop_nginx
    if [[ -n "$policy_rc" ]]; then $SUDO rm -f "$policy_rc" || true; fi
    if [[ -n "$tmp" && -d "$tmp" ]]; then
        if ((keep)); then
            echo "kept $tmp"
        else
            rm -rf "$tmp"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. tools ----

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi
NGINX="$(command -v nginx || true)"
[[ -z "$NGINX" && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -n "$NGINX" ]] || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
command -v ss >/dev/null || missing+=(iproute2)
command -v ps >/dev/null || missing+=(procps)
if ((${#missing[@]})); then
    echo "== installing ${missing[*]}"
    # The nginx package starts its system service on install; a policy-rc.d
    # answering 101 ("action forbidden") stops invoke-rc.d and
    # deb-systemd-invoke from doing so. Only while installing, and only if
    # the machine has none of its own.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        policy_rc=/usr/sbin/policy-rc.d
        $SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
    fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    if [[ -n "$policy_rc" ]]; then
        $SUDO rm -f "$policy_rc"
        policy_rc=""
    fi
    NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
fi

# ---- 2. build ----

echo "== building Release ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target lore >/dev/null
lore="$build/lore"
[[ -x "$lore" ]] || die "$lore was not built"

tmp="$(mktemp -d /tmp/lore-http.XXXXXX)"
clk_tck="$(getconf CLK_TCK)"

# ---- helpers ----

# start_lore DATA_DIR STDERR_FILE [VAR=VALUE...]: starts `lore serve` on a
# free port; sets lore_pid, lore_port and, on a first start, lore_key.
start_lore() {
    local dir="$1" errlog="$2"
    shift 2
    : >"$tmp/lore.out"
    env "$@" "$lore" serve --listen 127.0.0.1:0 --data-dir "$dir" >"$tmp/lore.out" 2>"$errlog" &
    lore_pid=$!
    local i
    for ((i = 0; i < 200; i++)); do
        grep -q ' listening on http://' "$tmp/lore.out" && break
        kill -0 "$lore_pid" 2>/dev/null || die "lore serve exited at start (stderr: $errlog)"
        sleep 0.05
    done
    lore_port="$(sed -n 's|.* listening on http://127\.0\.0\.1:\([0-9][0-9]*\) .*|\1|p' "$tmp/lore.out")"
    [[ -n "$lore_port" ]] || die "lore serve printed no listening line"
    local k
    k="$(sed -n 's/^admin key (shown once, keep it): //p' "$tmp/lore.out")"
    if [[ -n "$k" ]]; then lore_key="$k"; fi
}

# start_nginx: nginx as a plain foreground process (daemon off) with its own
# prefix, config, pid file and logs under $tmp/nginx, on a free port below
# the ephemeral range (so it never collides with wrk's outgoing ports).
start_nginx() {
    local p="$tmp/nginx" try port
    mkdir -p "$p/tmp" "$p/www"
    # Workers run as nobody when the master is root: let them reach www.
    chmod o+x "$tmp" "$p"
    chmod o+rx "$p/www"
    chmod o+r "$p"/www/*
    for ((try = 0; try < 10; try++)); do
        port=$((20000 + RANDOM % 12000))
        if ss -Htan "( sport = :$port )" | grep -q .; then continue; fi
        cat >"$p/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $p/nginx.pid;
error_log $p/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    open_file_cache max=16 inactive=600s;
    open_file_cache_valid 600s;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 100000000;
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;
    types { application/json json; }
    default_type application/json;
    server {
        listen 127.0.0.1:$port;
        root $p/www;
        location / { }
    }
}
EOF
        "$NGINX" -p "$p" -c "$p/nginx.conf" -e "$p/error.log" >"$p/stdout.log" 2>&1 &
        nginx_pid=$!
        local i
        for ((i = 0; i < 100; i++)); do
            if curl -fsS -o /dev/null "http://127.0.0.1:$port/health.json" 2>/dev/null; then
                nginx_port=$port
                return 0
            fi
            kill -0 "$nginx_pid" 2>/dev/null || break
            sleep 0.05
        done
        stop_nginx
        # Only a port taken meanwhile is worth another try.
        grep -q 'Address already in use' "$p/error.log" 2>/dev/null ||
            die "nginx did not start: $(tail -1 "$p/error.log" 2>/dev/null)"
    done
    die "nginx did not start (see $p/error.log)"
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; } # kB -> MB

vm_kb() { # vm_kb PID FIELD -> kB
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# cpu_ticks PID...: user + system clock ticks of the processes (all threads).
cpu_ticks() {
    local t=0 p v
    for p in "$@"; do
        v="$(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')"
        t=$((t + v))
    done
    echo "$t"
}

server_pids() { # server_pids lore|nginx
    if [[ "$1" == lore ]]; then
        echo "$lore_pid"
    else
        # shellcheck disable=SC2046 # one pid a word
        echo "$nginx_pid" $(ps -o pid= --ppid "$nginx_pid")
    fi
}

# conn_sampler PORT PID: distinct client connections to PORT seen while PID
# runs (established sockets sampled every 0.1 s, told apart by the client
# port). With keep-alive that is wrk's -c; when the server closes
# connections, wrk reconnects and every sample sees new ones.
conn_sampler() {
    while kill -0 "$2" 2>/dev/null; do
        ss -Htn state established "( dport = :$1 )" | awk '{ print $3 }'
        sleep 0.1
    done | sort -u | wc -l
}

# Busy clock ticks of the whole machine (all cores), from /proc/stat.
machine_busy() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

declare -A url server port_of
set_targets() {
    url[nginx_health]="http://127.0.0.1:$nginx_port/health.json"
    url[lore_health]="http://127.0.0.1:$lore_port/health/live"
    url[nginx_search]="http://127.0.0.1:$nginx_port/search.json"
    url[lore_search_get]="http://127.0.0.1:$lore_port"
    url[lore_search_post]="http://127.0.0.1:$lore_port"
    url[lore_search_get_log]="http://127.0.0.1:$lore_port"
    url[lore_search_get_c1]="http://127.0.0.1:$lore_port"
    url[lore_health_log]="http://127.0.0.1:$lore_port/health/live"
    local t
    for t in nginx_health nginx_search; do
        server[$t]=nginx
        port_of[$t]=$nginx_port
    done
    for t in lore_health lore_health_log lore_search_get lore_search_post lore_search_get_log lore_search_get_c1; do
        server[$t]=lore
        port_of[$t]=$lore_port
    done
}

wrk_args() { # wrk_args TARGET: the script part of wrk's command line
    case "$1" in
    lore_search_get | lore_search_get_log | lore_search_get_c1)
        echo "-s bench/http_search.lua ${url[$1]} -- get $tmp/queries.uri"
        ;;
    lore_search_post)
        echo "-s bench/http_search.lua ${url[$1]} -- post $tmp/queries.json"
        ;;
    *)
        echo "${url[$1]}"
        ;;
    esac
}

# wrk_parse FILE: "rps p50_ms p99_ms requests non2xx socket_errors"
wrk_parse() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /s$/) return v * 1000
            if (v ~ /m$/) return v * 60000
            return v + 0
        }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        / requests in / { reqs = $1 }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        /Socket errors:/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
        END { printf "%s %.3f %.3f %s %d %d\n", rps, p50, p99, reqs, bad, sock }
    ' "$1"
}

failures=0
keepalive_lost=0
# measure TARGET ROUND [CONNECTIONS [THREADS]]: warm-up, then the measured run;
# appends a line to $tmp/results.txt: target round rps p50 p99 requests
# non2xx sockerr server_cpu_us_per_req connections wrk_cpu_us_per_req
# other_cores (CPU time of everything else on the machine during the run,
# in cores).
measure() {
    local t="$1" round="$2" out="$tmp/wrk/$1.$2.txt" warm="$tmp/wrk/$1.$2.warm.txt"
    local c="${3:-$wrk_conns}" th="${4:-$wrk_threads}"
    local args w_bad w_sock
    args="$(wrk_args "$t")"
    # shellcheck disable=SC2086 # args is words by design (no spaces in paths under /tmp)
    WRK_LORE_KEY="$lore_key" wrk -t"$th" -c"$c" -d"${warmup}s" $args >"$warm" 2>&1 ||
        die "wrk failed (warm-up of $t): $(tail -2 "$warm")"
    read -r _ _ _ _ w_bad w_sock <<<"$(wrk_parse "$warm")"
    local pids conns c0 c1 m0 m1 wall0 wall1 wrk_cpu wpid
    pids="$(server_pids "${server[$t]}")"
    m0="$(machine_busy)"
    wall0="$(date +%s%N)"
    # shellcheck disable=SC2086
    c0="$(cpu_ticks $pids)"
    # wrk's own CPU time (user + system) through bash's time keyword.
    local TIMEFORMAT='%U %S'
    # shellcheck disable=SC2086
    { time WRK_LORE_KEY="$lore_key" wrk -t"$th" -c"$c" -d"${duration}s" --latency $args >"$out" 2>&1; } 2>"$out.time" &
    wpid=$!
    conns="$(conn_sampler "${port_of[$t]}" "$wpid")"
    wait "$wpid" || die "wrk failed ($t): $(tail -2 "$out")"
    # shellcheck disable=SC2086
    c1="$(cpu_ticks $pids)"
    wall1="$(date +%s%N)"
    m1="$(machine_busy)"
    wrk_cpu="$(awk '{ print $1 + $2 }' "$out.time")"
    local rps p50 p99 reqs bad sock
    read -r rps p50 p99 reqs bad sock <<<"$(wrk_parse "$out")"
    [[ -n "$rps" && -n "$reqs" && "$reqs" -gt 0 ]] || die "could not read wrk's output $out"
    local cpu_us wrk_us others
    read -r cpu_us wrk_us others <<<"$(awk -v d=$((c1 - c0)) -v hz="$clk_tck" -v n="$reqs" -v w="$wrk_cpu" \
        -v m=$((m1 - m0)) -v ns=$((wall1 - wall0)) 'BEGIN {
            other = (m / hz - d / hz - w) / (ns / 1e9)
            printf "%.1f %.1f %.2f\n", d / hz * 1e6 / n, w * 1e6 / n, other < 0 ? 0 : other
        }')"
    echo "$t $round $rps $p50 $p99 $reqs $bad $sock $cpu_us $conns $wrk_us $others" >>"$tmp/results.txt"
    printf '  %-20s round %d: %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  CPU/req: server %5.1f us, wrk %4.1f us;' \
        "$t" "$round" "$rps" "$p50" "$p99" "$cpu_us" "$wrk_us"
    printf ' others %.2f cores; %d connections' "$others" "$conns"
    if ((bad + sock + w_bad + w_sock)); then
        printf '  ERRORS: %d non-2xx, %d socket errors (warm-up: %d, %d)' "$bad" "$sock" "$w_bad" "$w_sock"
        failures=$((failures + 1))
    fi
    if ((conns > c * 6 / 5 + 2)); then
        printf '  KEEP-ALIVE LOST'
        keepalive_lost=$((keepalive_lost + 1))
    fi
    printf '\n'
}

resp_bytes() { # resp_bytes URL [curl args...]: "header+body body" bytes of one answer
    curl -fsS -o /dev/null -w '%{size_header} %{size_download}' "$@"
}

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   busiest processes now (wrk, lore and nginx share these cores with them):"
ps -eo pcpu=,comm= --sort=-pcpu | head -4 | sed 's/^/     /'

# ---- 3. idle RSS ----

echo "== idle RSS: lore serve on a fresh data directory (default settings)"
lore_key=""
start_lore "$tmp/idle" "$tmp/idle.err"
sleep 1
rss_idle="$(vm_kb "$lore_pid" VmRSS)"
threads_idle="$(vm_kb "$lore_pid" Threads)"
for ((i = 0; i < 10; i++)); do
    curl -fsS -o /dev/null "http://127.0.0.1:$lore_port/health/live"
    curl -fsS -o /dev/null "http://127.0.0.1:$lore_port/health/ready"
done
rss_health="$(vm_kb "$lore_pid" VmRSS)"
curl -fsS -o /dev/null -H "Authorization: Bearer $lore_key" "http://127.0.0.1:$lore_port/v1/search?q=hello"
rss_search="$(vm_kb "$lore_pid" VmRSS)"
hwm_idle="$(vm_kb "$lore_pid" VmHWM)"
stop_lore
echo "   VmRSS $(mb "$rss_idle") MB after 1 s ($threads_idle threads); $(mb "$rss_health") MB after 20 health" \
    "requests; $(mb "$rss_search") MB after one search (empty tenant); peak $(mb "$hwm_idle") MB"

# ---- 4. SciFact, served ----

echo "== ingesting $data/corpus.jsonl"
"$lore" ingest "$data/corpus.jsonl" --data-dir "$tmp/scifact" 2>&1 | sed 's/^/   /'
lore_key=""
bench_env=(LORE_RATE_READ_PER_MIN=0 LORE_RATE_ANON_PER_MIN=0 LORE_ACCESS_LOG=0)
start_lore "$tmp/scifact" "$tmp/lore-scifact.err" "${bench_env[@]}"
[[ -n "$lore_key" ]] || die "lore serve printed no admin key"
echo "   lore serve pid $lore_pid on port $lore_port (${bench_env[*]})"

jq -r '.text | @uri' "$data/queries.jsonl" >"$tmp/queries.uri"
jq -c '{query: .text, limit: 10}' "$data/queries.jsonl" >"$tmp/queries.json"
nq="$(wc -l <"$tmp/queries.uri")"

# Every query once through curl (one process, one connection): all must
# answer 200, and their sizes give the "typical search answer".
echo "== checking every query with curl ($nq GET /v1/search) and a few POSTs"
{
    echo 'silent'
    echo "header = \"Authorization: Bearer $lore_key\""
    # shellcheck disable=SC2028 # the \n is for curl's config parser
    echo 'write-out = "%{http_code} %{size_download}\n"'
    while IFS= read -r q; do
        printf 'url = "http://127.0.0.1:%s/v1/search?limit=10&q=%s"\noutput = "/dev/null"\n' "$lore_port" "$q"
    done <"$tmp/queries.uri"
} >"$tmp/curl-get.cfg"
curl -K "$tmp/curl-get.cfg" >"$tmp/get-check.txt" || die "curl failed checking the queries"
not200="$(awk '$1 != 200' "$tmp/get-check.txt" | wc -l)"
checked="$(wc -l <"$tmp/get-check.txt")"
((checked == nq && not200 == 0)) ||
    die "$not200 of $checked GET searches did not answer 200: $(awk '$1 != 200 { print $1 }' "$tmp/get-check.txt" | sort | uniq -c | tr '\n' ' ')"
# The median answer: its query's line number and size.
read -r med_line med_size <<<"$(awk '{ print NR, $2 }' "$tmp/get-check.txt" | sort -n -k2 | sed -n "$(((nq + 1) / 2))p")"
read -r min_size max_size <<<"$(awk 'NR == 1 || $2 < lo { lo = $2 } $2 > hi { hi = $2 } END { print lo, hi }' "$tmp/get-check.txt")"
zero_hits="$(awk '$2 < 200' "$tmp/get-check.txt" | wc -l)"
echo "   all $nq answered 200; body sizes $min_size to $max_size bytes, median $med_size ($zero_hits queries with no hit)"
head -5 "$tmp/queries.json" | while IFS= read -r body; do
    code="$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $lore_key" \
        -H 'Content-Type: application/json' --data-binary "$body" "http://127.0.0.1:$lore_port/v1/search")"
    [[ "$code" == 200 ]] || die "POST /v1/search answered $code for $body"
done
code="$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$lore_port/v1/search?q=x")"
[[ "$code" == 401 ]] || die "GET /v1/search without a key answered $code, not 401"

# nginx serves lore's own answers, byte for byte: /health/live's body and the
# median search answer.
mkdir -p "$tmp/nginx/www"
curl -fsS -o "$tmp/nginx/www/health.json" "http://127.0.0.1:$lore_port/health/live"
med_q="$(sed -n "${med_line}p" "$tmp/queries.uri")"
curl -fsS -o "$tmp/nginx/www/search.json" -H "Authorization: Bearer $lore_key" \
    "http://127.0.0.1:$lore_port/v1/search?limit=10&q=$med_q"
start_nginx
echo "   nginx $("$NGINX" -v 2>&1 | sed 's|.*/||') pid $nginx_pid on port $nginx_port (2 workers, keep-alive, access_log off)"
set_targets

declare -A bytes
bytes[nginx_health]="$(resp_bytes "${url[nginx_health]}")"
bytes[lore_health]="$(resp_bytes "${url[lore_health]}")"
bytes[nginx_search]="$(resp_bytes "${url[nginx_search]}")"
bytes[lore_search_get]="$(resp_bytes -H "Authorization: Bearer $lore_key" "http://127.0.0.1:$lore_port/v1/search?limit=10&q=$med_q")"
bytes[lore_search_post]="$(resp_bytes -H "Authorization: Bearer $lore_key" -H 'Content-Type: application/json' \
    --data-binary "$(sed -n "${med_line}p" "$tmp/queries.json")" "http://127.0.0.1:$lore_port/v1/search")"
for t in nginx_health lore_health nginx_search lore_search_get lore_search_post; do
    read -r h b <<<"${bytes[$t]}"
    bytes[$t]="$((h + b))"
    printf '   %-18s answer: %5d bytes of headers + %5d of body\n' "$t" "$h" "$b"
done

# ---- 5. wrk, interleaved rounds ----

mkdir -p "$tmp/wrk"
: >"$tmp/results.txt"
targets=(nginx_health lore_health nginx_search lore_search_get lore_search_post)
echo "== wrk -t$wrk_threads -c$wrk_conns -d${duration}s --latency, each after a ${warmup}s warm-up; $rounds rounds"
for ((r = 1; r <= rounds; r++)); do
    for t in "${targets[@]}"; do
        measure "$t" "$r"
    done
done
echo "== one GET search run with 1 connection (wrk -t1 -c1: the service time, no queueing)"
measure lore_search_get_c1 1 1 1
rss_after="$(vm_kb "$lore_pid" VmRSS)"
hwm_after="$(vm_kb "$lore_pid" VmHWM)"
stop_lore

echo "== one /health/live and one GET search run with the access log on (LORE_ACCESS_LOG=1, stderr to /dev/null)"
start_lore "$tmp/scifact" /dev/null LORE_RATE_READ_PER_MIN=0 LORE_RATE_ANON_PER_MIN=0 LORE_ACCESS_LOG=1
set_targets
bytes[lore_health_log]="${bytes[lore_health]}"
bytes[lore_search_get_log]="${bytes[lore_search_get]}"
bytes[lore_search_get_c1]="${bytes[lore_search_get]}"
measure lore_health_log 1
measure lore_search_get_log 1
stop_lore
stop_nginx

# ---- 6. summary ----

# median_of TARGET COLUMN: the median of a column of results.txt over the rounds.
median_of() {
    awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$tmp/results.txt" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# row TARGET LABEL [BASE]: one line of the table; ratios against BASE.
row() {
    local t="$1" label="$2" base="${3:-}"
    local rps p50 p99 cpu wcpu others range brps="" bp99=""
    rps="$(median_of "$t" 3)"
    p50="$(median_of "$t" 4)"
    p99="$(median_of "$t" 5)"
    cpu="$(median_of "$t" 9)"
    wcpu="$(median_of "$t" 11)"
    others="$(median_of "$t" 12)"
    range="$(awk -v t="$t" '$1 == t { print $3 }' "$tmp/results.txt" | sort -g | sed -n '1p;$p' | tr '\n' ' ')"
    if [[ -n "$base" ]]; then
        brps="$(median_of "$base" 3)"
        bp99="$(median_of "$base" 5)"
    fi
    awk -v label="$label" -v bytes="${bytes[$t]}" -v rps="$rps" -v range="$range" -v p50="$p50" \
        -v p99="$p99" -v cpu="$cpu" -v wcpu="$wcpu" -v others="$others" -v brps="$brps" -v bp99="$bp99" '
        function commas(x,    s, r) {
            s = sprintf("%.0f", x); r = ""
            while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
            return s r
        }
        BEGIN {
            split(range, rg, " ")
            printf "| %-33s | %5d | %8s | %-15s | %6.2f | %6.2f | %6.1f | %6.1f | %5.2f | %5s | %5s |\n", label, bytes,
                   commas(rps), commas(rg[1]) "-" commas(rg[2]), p50, p99, cpu, wcpu, others,
                   brps != "" ? sprintf("%.2f", rps / brps) : "", bp99 != "" ? sprintf("%.2f", p99 / bp99) : ""
        }'
}
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== summary: medians of $rounds runs of wrk -t$wrk_threads -c$wrk_conns -d${duration}s --latency"
echo
printf '| %-33s | %5s | %8s | %-15s | %6s | %6s | %6s | %6s | %5s | %5s | %5s |\n' target bytes 'req/s' 'req/s range' \
    'p50 ms' 'p99 ms' 'srv us' 'wrk us' 'other' 'x rps' 'x p99'
echo '|-----------------------------------|-------|----------|-----------------|--------|--------|--------|--------|-------|-------|-------|'
row nginx_health "nginx static JSON, health size"
row lore_health "lore GET /health/live" nginx_health
row nginx_search "nginx static JSON, search size"
row lore_search_get "lore GET /v1/search" nginx_search
row lore_search_post "lore POST /v1/search" nginx_search
row lore_health_log "lore GET /health/live, access log" lore_health
row lore_search_get_log "lore GET /v1/search, access log" lore_search_get
row lore_search_get_c1 "lore GET /v1/search, 1 connection" lore_search_get
echo
echo "bytes: one answer, headers + body (search: the median answer). srv us, wrk us: CPU time"
echo "(user + system) per request of the server (all threads or worker processes) and of wrk."
echo "other: cores used by every other process on the machine during the run. x rps, x p99:"
echo "ratio to the row it is compared with: lore to nginx of the same size; the last three"
echo "rows (one run each) to the same lore route at 50 connections without the access log."
echo "connections per measured run: $(awk '{ print $10 }' "$tmp/results.txt" | sort -n | sed -n '1p;$p' | tr '\n' ' ' | sed 's/ $//; s/ / to /')" \
    "(distinct client ports seen; with keep-alive, wrk's -c)"
if ((keepalive_lost)); then echo "WARNING: $keepalive_lost run(s) lost keep-alive (see above)"; fi
echo "idle RSS (fresh data dir, one empty tenant): $(mb "$rss_idle") MB after 1 s," \
    "$(mb "$rss_health") MB after health requests, $(mb "$rss_search") MB after one search"
echo "RSS serving SciFact after the runs: $(mb "$rss_after") MB (peak $(mb "$hwm_after") MB)"
echo "load average at the end: $load_end; wrk's 2 threads run on the same 2 cores as the server"

# The aims of the issue.
health_rps="$(median_of lore_health 3)"
search_p99="$(median_of lore_search_get 5)"
verdict() { # verdict VALUE OP LIMIT
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { ok = op == ">=" ? v >= l : v < l; print ok ? "met" : "MISSED" }'
}
echo
echo "aims:"
echo "  /health/live >= 60,000 req/s:   $(printf '%.0f' "$health_rps") req/s, $(verdict "$health_rps" '>=' 60000)"
echo "  search p99 < 10 ms at 50 conns: $search_p99 ms, $(verdict "$search_p99" '<' 10)"
echo "  idle RSS < 20 MB:               $(mb "$rss_idle") MB, $(verdict "$rss_idle" '<' 20480)"

if ((failures)); then
    echo "http.sh: $failures wrk run(s) had socket errors or non-2xx answers (see above)" >&2
    exit 1
fi
