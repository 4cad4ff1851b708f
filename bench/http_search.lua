-- wrk script for lore's search endpoint, used by bench/http.sh.
--
--   WRK_LORE_KEY=lore_... wrk -t2 -c50 -d10s --latency -s bench/http_search.lua \
--       http://127.0.0.1:PORT -- get QUERIES_FILE
--   WRK_LORE_KEY=lore_... wrk ... -s bench/http_search.lua http://127.0.0.1:PORT -- post BODIES_FILE
--
-- get:  QUERIES_FILE holds one query a line, already URL-encoded (every byte
--       but the unreserved ones percent-encoded, e.g. jq's @uri); each request
--       is GET /v1/search?q=LINE&limit=10 (default snippets).
-- post: BODIES_FILE holds one JSON body a line ({"query": ..., "limit": 10});
--       each request is POST /v1/search with that body.
--
-- The key comes from the environment rather than the command line so it does
-- not show in ps. Not a LORE_* name: lore refuses unknown LORE_* variables,
-- so an exported LORE_BENCH_KEY would stop `lore serve` from starting.
--
-- Each wrk thread walks the whole list in order from its own starting point
-- (thread i at line 557 * i), so consecutive requests are different queries
-- and the threads do not send the same one in step.
-- No response() callback: defining one makes wrk parse every body in Lua;
-- wrk itself counts non-2xx/3xx answers and socket errors.

local lines = {}
local pos = 0
local mode, headers
local nthreads = 0

function setup(thread)
    thread:set("thread_index", nthreads)
    nthreads = nthreads + 1
end

function init(args)
    mode = args[1]
    local file = args[2]
    if (mode ~= "get" and mode ~= "post") or not file then
        error("usage: wrk ... -s http_search.lua URL -- get|post FILE")
    end
    local key = os.getenv("WRK_LORE_KEY")
    if not key or key == "" then
        error("http_search.lua: set WRK_LORE_KEY to an API key with scope read")
    end
    for line in io.lines(file) do
        if #line > 0 then
            lines[#lines + 1] = line
        end
    end
    if #lines == 0 then
        error("http_search.lua: no lines in " .. file)
    end
    headers = { ["Authorization"] = "Bearer " .. key }
    if mode == "post" then
        headers["Content-Type"] = "application/json"
    end
    -- thread_index is 0, 1, ...: start the threads 557 lines apart (a
    -- prime, about half of SciFact's 1,109 queries).
    local idx = tonumber(thread_index) or 0
    pos = (idx * 557) % #lines
end

function request()
    pos = pos % #lines + 1
    if mode == "post" then
        return wrk.format("POST", "/v1/search", headers, lines[pos])
    end
    return wrk.format("GET", "/v1/search?limit=10&q=" .. lines[pos], headers)
end
