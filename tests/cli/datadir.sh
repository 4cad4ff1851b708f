#!/usr/bin/env bash
# The data directory is never a surprise (docs/configuration.md): every
# command resolves it to one absolute path and names it in its errors;
# commands that only read create nothing; lore mcp names the directory an
# unknown key was looked up in; and the README's MCP one-liner, copied as
# written, works from /tmp after `make run` (scripts/run.sh).
set -uo pipefail
LORE=${1:?usage: datadir.sh path/to/lore}
LORE="$(cd "$(dirname "$LORE")" && pwd)/$(basename "$LORE")" # commands run elsewhere
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
T=$(mktemp -d /tmp/lore-datadir-XXXXXX)
T=$(cd "$T" && pwd -P)
trap 'rm -rf "$T"' EXIT
S="$T/scratch" # outputs of the test itself, outside every watched tree
mkdir -p "$S" "$T/home" "$T/elsewhere"
# HOME is the test's: lore's per-user default must never touch the real one.
export HOME="$T/home"
unset XDG_DATA_HOME LORE_DATA_DIR LORE_CONFIG LORE_MCP_KEY LORE_MCP_PRINCIPALS LORE_TENANT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect CODE DESCRIPTION -- command...: runs it (stdin empty), checks the
# exit code, keeps stdout in $OUT and stderr in $ERR.
expect() {
  local code=$1 what=$2; shift 3
  OUT=$("$@" 2>"$S/err" </dev/null); local rc=$?
  ERR=$(cat "$S/err")
  if [ "$rc" -eq "$code" ]; then ok; else bad "$what: exit $rc, want $code; stderr: $ERR"; fi
}
has() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "expected '$2' in: $1"; fi; }
hasnt() { if grep -qF -- "$2" <<<"$1"; then bad "did not expect '$2' in: $1"; else ok; fi; }
# Everything under the test directory but its scratch space.
tree() { find "$T" -path "$S" -prune -o -print | sort; }

# The commands that only read (or change existing data): each must refuse a
# missing data directory with exit 2 and create nothing.
READERS=(
  "search hello"
  "get 0123456789abcdef"
  "delete 0123456789abcdef"
  "stats"
  "reindex"
  "tenant list"
  "tenant delete acme --yes"
  "ingest --tenant acme $ROOT/README.md"
  "jobs list"
  "jobs show 1"
  "jobs retry"
  "jobs purge"
  "key list"
  "key create --tenant acme --scope read"
  "key revoke 0123456789ab"
  "worker"
  "mcp"
)
# check_readers WANT_PATH WANT_SOURCE [env...]: runs every reader from
# $T/elsewhere with the given environment.
check_readers() {
  local want=$1 source=$2; shift 2
  local before; before=$(tree)
  for c in "${READERS[@]}"; do
    # shellcheck disable=SC2086 # the command words split on purpose
    # (a timeout: on a store that opened, worker and mcp would wait for work)
    expect 2 "lore $c on a missing data dir" -- env -C "$T/elsewhere" "$@" timeout 30 "$LORE" $c
    has "$ERR" "no lore data at $want: "
    has "$ERR" "($source)"
    has "$ERR" "set LORE_DATA_DIR or --data-dir"
    [ "$(tree)" = "$before" ] && ok || bad "lore $c created: $(diff <(echo "$before") <(tree))"
  done
}

# --- the default: per user, absolute, the same from every directory
DEF="$T/home/.local/share/lore"
check_readers "$DEF" "the default data directory, ~/.local/share/lore"
expect 0 "config names the default" -- env -C "$T/elsewhere" "$LORE" config
has "$OUT" "data_dir               = $DEF "
[ ! -e "$T/home/.local" ] && ok || bad "config created the default directory"
mkdir -p "$T/xdg"
# Without HOME, the home directory comes from the password database.
PWHOME=$(getent passwd "$(id -u)" | cut -d: -f6)
expect 0 "config without HOME" -- env -u HOME -C "$T/elsewhere" "$LORE" config
has "$OUT" "data_dir               = $PWHOME/.local/share/lore "
expect 2 "XDG_DATA_HOME" -- env -C "$T/elsewhere" XDG_DATA_HOME="$T/xdg" "$LORE" stats
has "$ERR" "no lore data at $T/xdg/lore: the directory does not exist (the default data directory, \$XDG_DATA_HOME/lore)"

# --- relative paths become absolute: the environment and flags from the
# working directory, a config file from its own directory
check_readers "$T/elsewhere/rel/data" "set by LORE_DATA_DIR" LORE_DATA_DIR=rel/./data/
expect 2 "--data-dir ../x" -- env -C "$T/elsewhere" "$LORE" search --data-dir ../x hello
has "$ERR" "no lore data at $T/x: the directory does not exist (set by --data-dir)"
mkdir -p "$T/conf"
echo "data_dir = d" >"$T/conf/lore.conf"
expect 2 "data_dir in a config file" -- env -C "$T/elsewhere" "$LORE" stats --config ../conf/lore.conf
has "$ERR" "no lore data at $T/conf/d: the directory does not exist (set by data_dir in ../conf/lore.conf)"
expect 0 "config shows the file's directory" -- env -C / "$LORE" config --config "$T/conf/lore.conf"
has "$OUT" "data_dir               = $T/conf/d "

# --- a directory that exists but holds no store is named as such, untouched
mkdir -p "$T/empty"
expect 2 "no control.db" -- env -C "$T/elsewhere" LORE_DATA_DIR="$T/empty" "$LORE" key list
has "$ERR" "no lore data at $T/empty: the directory holds no control.db (set by LORE_DATA_DIR)"
[ -z "$(ls -A "$T/empty")" ] && ok || bad "key list wrote into $T/empty: $(ls -A "$T/empty")"

# --- ./lore-data of an older lore: pointed at, not silently used or lost
mkdir -p "$T/old"
expect 0 "an old ./lore-data" -- env -C "$T/old" LORE_DATA_DIR=lore-data "$LORE" tenant create acme
expect 2 "read from beside it" -- env -C "$T/old" "$LORE" search --tenant acme hello
has "$ERR" "no lore data at $DEF"
has "$ERR" "./lore-data here is used only when named: LORE_DATA_DIR=$T/old/lore-data"
[ ! -e "$DEF" ] && ok || bad "search created $DEF"

# --- the commands that create data do, in the default directory, from
# anywhere; the others then find it from anywhere else
expect 0 "tenant create" -- env -C "$T/elsewhere" "$LORE" tenant create acme
[ -f "$DEF/control.db" ] && ok || bad "tenant create made no $DEF/control.db"
expect 0 "tenant list from /" -- env -C / "$LORE" tenant list; has "$OUT" "acme"
expect 2 "a missing tenant names the directory" -- env -C / "$LORE" search --tenant nope x
has "$ERR" "tenant 'nope' does not exist in $DEF (create it with: lore tenant create nope)"
expect 0 "tenant delete" -- env -C / "$LORE" tenant delete acme --yes
expect 0 "no tenants" -- env -C / "$LORE" tenant list; has "$OUT" "no tenants"
echo "otters hold hands while they sleep" >"$S/otters.txt"
expect 0 "ingest into the default tenant creates its data" -- \
  env -C "$T/elsewhere" LORE_DATA_DIR="$T/made" "$LORE" ingest --quiet "$S/otters.txt"
[ -f "$T/made/control.db" ] && ok || bad "ingest made no control.db"
expect 0 "search it from elsewhere" -- env -C / LORE_DATA_DIR="$T/made" "$LORE" search otters
has "$OUT" "otters"

# --- lore mcp: a key unknown in *this* directory says which directory
KEY_MADE=$(LORE_DATA_DIR="$T/made" "$LORE" key create --tenant default --scope read 2>/dev/null)
[[ "$KEY_MADE" =~ ^lore_[0-9a-f]{12}_ ]] && ok || bad "no key: $KEY_MADE"
expect 0 "another data directory" -- env LORE_DATA_DIR="$T/other" "$LORE" tenant create default
expect 1 "mcp with a key of another directory" -- \
  env -C "$T/elsewhere" LORE_DATA_DIR="$T/other" LORE_MCP_KEY="$KEY_MADE" "$LORE" mcp
has "$ERR" "key ${KEY_MADE:0:17}... is not known in $T/other; set LORE_DATA_DIR"
hasnt "$ERR" "${KEY_MADE:18}"
expect 1 "...and relative, still absolute" -- \
  env -C "$T" LORE_DATA_DIR=other LORE_MCP_KEY="$KEY_MADE" "$LORE" mcp
has "$ERR" "is not known in $T/other;"

# --- the README's MCP one-liner, exactly as README.md and docs/mcp.md write it
LINE=$(grep -x 'LORE_MCP_KEY=\$KEY lore mcp' "$ROOT/README.md")
[ "$LINE" = 'LORE_MCP_KEY=$KEY lore mcp' ] && ok || bad "README.md has no one-liner line: '$LINE'"
[ "$(grep -x 'LORE_MCP_KEY=\$KEY lore mcp' "$ROOT/docs/mcp.md")" = "$LINE" ] && ok ||
  bad "docs/mcp.md does not give the README's one-liner"
# make run (scripts/run.sh) as the README has it: it fills the default
# directory, prints the one-liner, and its server prints the admin key. Only
# the listening port differs (any free one), through a wrapper.
mkdir -p "$T/wrap" "$T/bin"
cat >"$T/wrap/lore" <<EOF
#!/bin/sh
[ "\$1" = serve ] && exec "$LORE" serve --listen 127.0.0.1:0
exec "$LORE" "\$@"
EOF
chmod +x "$T/wrap/lore"
ln -s "$LORE" "$T/bin/lore"
# run_make [DATA_DIR]: scripts/run.sh until its server printed the admin
# key, then SIGTERM; its output in $RUN. It waits as long as run.sh runs
# (it ingests the docs first, slow on a loaded machine): a run.sh that ends
# stops the wait at once, and the 300 s cap only bounds a hang.
run_make() {
  (cd "$ROOT" && exec bash scripts/run.sh "$T/wrap/lore" "$@" >"$S/run.out" 2>&1) &
  local pid=$!
  for _ in $(seq 1 3000); do
    grep -q "^admin key" "$S/run.out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null
  wait "$pid"
  RUN=$(cat "$S/run.out")
}
export HOME="$T/home2"
mkdir -p "$HOME"
had_old=$([ -e "$ROOT/lore-data" ] && echo yes)
run_make
KEY=$(sed -n 's/^admin key (shown once, keep it): //p' <<<"$RUN")
[[ "$KEY" =~ ^lore_[0-9a-f]{12}_ ]] && ok || bad "make run printed no admin key: $RUN"
{ [ -n "$had_old" ] || [ ! -e "$ROOT/lore-data" ]; } && ok || bad "make run made ./lore-data"
has "$RUN" "data in $T/home2/.local/share/lore."
has "$RUN" "  $LINE "
has "$RUN" "(data in $T/home2/.local/share/lore,"
printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
  '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search","arguments":{"query":"how are chunks split"}}}' \
  >"$S/mcp.in"
had_tmp=$([ -e /tmp/lore-data ] && echo yes)
(cd /tmp && KEY=$KEY PATH="$T/bin:$PATH" timeout 300 bash -c "$LINE" <"$S/mcp.in" >"$S/mcp.out" 2>"$S/mcp.err")
rc=$?
[ "$rc" -eq 0 ] && ok || bad "the one-liner from /tmp: exit $rc: $(cat "$S/mcp.err")"
hits=$(python3 -c 'import json,sys
m={x.get("id"):x for x in map(json.loads, open(sys.argv[1]))}
print(len(m[2]["result"]["structuredContent"]["hits"]))' "$S/mcp.out" 2>&1)
[[ "$hits" =~ ^[1-9][0-9]*$ ]] && ok || bad "the one-liner found no hits: $hits; $(head -c 600 "$S/mcp.out")"
{ [ -n "$had_tmp" ] || [ ! -e /tmp/lore-data ]; } && ok || bad "the one-liner made /tmp/lore-data"
# make run DATA_DIR=path: the printed one-liner names the absolute directory.
run_make "$T/custom/../custom"
has "$RUN" "data in $T/custom."
has "$RUN" "  LORE_DATA_DIR=$T/custom $LINE "

echo "datadir: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
