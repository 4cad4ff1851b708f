#!/usr/bin/env bash
# Runs one store contract test (tests/store/) against a throwaway PostgreSQL:
# tests/support/pg.sh starts one and runs its arguments with LORE_TEST_PG_URL
# exported (a role that may CREATE DATABASE); the test's fixture
# (support/store_fixture.h) reads LORE_TEST_STORE_URL and makes a fresh
# database per store under it. CMake registers it as <test>_pg. The
# end-to-end shell tests run through it the same way (cli_<name>_pg:
# store_pg.sh bash tests/cli/NAME.sh LORE), where tests/support/store.sh
# reads LORE_TEST_STORE_URL and gives each data directory a database.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/pg.sh" bash -c 'LORE_TEST_STORE_URL=$LORE_TEST_PG_URL exec "$@"' store_pg "$@"
