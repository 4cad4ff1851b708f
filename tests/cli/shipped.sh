#!/usr/bin/env bash
# The shipped lore carries no test-only code: no MCP conformance fixtures, no
# chunk invariant checker, no job trace hook (they live in tests/support/ and
# are linked into the tests and lore-test only). The same checks run on
# lore-test must find them, so the test proves it can see what it looks for.
set -uo pipefail
LORE=${1:?usage: shipped.sh path/to/lore}
TESTBIN=${LORE_TEST_HOOKS_BIN:?LORE_TEST_HOOKS_BIN (lore-test) is not set; run under ctest}
T=$(mktemp -d /tmp/lore-shipped-XXXXXX)
trap 'rm -rf "$T"' EXIT
unset LORE_CONFIG LORE_MODE LORE_TEST_MCP_FIXTURES LORE_TEST_JOB_TRACE
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# Test-only symbols and strings; fixture_ and install_hooks are static, so
# they show only while the symbol table is there (checked below).
TEST_SYMBOLS='mcp_test_fixtures|fixture_tools|fixture_call|chunk_check|install_hooks|pool_observe'
TEST_STRINGS='LORE_TEST_JOB_TRACE|test_simple_text|test_tool_with_progress'

nm "$LORE" >"$T/nm.lore" 2>&1 || bad "nm $LORE failed: $(cat "$T/nm.lore")"
grep -q ' cli_mcp_server_new$' "$T/nm.lore" || bad "no symbol table in $LORE (stripped?): the check would see nothing"
if grep -Eq " ($TEST_SYMBOLS)\$" "$T/nm.lore"; then
  bad "test-only symbols in lore: $(grep -E " ($TEST_SYMBOLS)\$" "$T/nm.lore" | tr '\n' ' ')"
else ok; fi
strings "$LORE" >"$T/strings.lore"
if grep -Eq "$TEST_STRINGS" "$T/strings.lore"; then
  bad "test-only strings in lore: $(grep -E "$TEST_STRINGS" "$T/strings.lore" | head -3 | tr '\n' ' ')"
else ok; fi

# The same checks find them in lore-test.
nm "$TESTBIN" >"$T/nm.test" 2>&1
for s in mcp_test_fixtures chunk_check install_hooks pool_observe; do
  if grep -Eq " $s\$" "$T/nm.test"; then ok; else
    # chunk_check is linked into the tests, not into lore-test
    [ "$s" = chunk_check ] && ok || bad "lore-test lacks $s: the check cannot see it"
  fi
done
strings "$TESTBIN" >"$T/strings.test"
grep -q LORE_TEST_JOB_TRACE "$T/strings.test" && ok || bad "lore-test lacks the trace switch"

# The shipped lore refuses the fixture switch, in every mode, and says why.
export LORE_DATA_DIR="$T/data"
for cmd in "serve --listen 127.0.0.1:0" "mcp --tenant default"; do
  # shellcheck disable=SC2086
  out=$(LORE_TEST_MCP_FIXTURES=1 timeout 20 "$LORE" $cmd </dev/null 2>&1); rc=$?
  [ "$rc" = 1 ] && ok || bad "lore $cmd with LORE_TEST_MCP_FIXTURES=1: exit $rc, want 1: $out"
  grep -q "test build" <<<"$out" && ok || bad "lore $cmd: the refusal does not name the test build: $out"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
