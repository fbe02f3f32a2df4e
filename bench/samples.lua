-- bench/samples.lua: wrk script for the sample-ingest benchmark (bench/run.sh, figure 2).
--
--   wrk -t2 -c64 -d10s --latency -s bench/samples.lua http://127.0.0.1:PORT -- NODES PER_NODE
--
-- Sends POST /v1/samples as hjo-collectord's api sink does: one body per node and interval,
-- with one sample per job running on that node.  bench/run.sh creates NODES nodes bsn0000..
-- with PER_NODE running jobs each (bsj<node>-<k>).  Thread t sends for the nodes n with
-- n % threads == t, round robin, so with NODES >= connections a node has about one request in
-- flight at a time, as with one collector per node.  Every body of a node carries a later
-- timestamp than the one before (milliseconds, never behind the wall clock), so nothing is a
-- duplicate, also across runs.
--
-- response() counts non-2xx answers and answers whose "stored" is not PER_NODE; done() prints
--   BENCH key=value ...
-- (bench/run.sh multiplies by PER_NODE for samples/s; latencies in microseconds).

local counter = 1
local threads = {}

function setup(thread)
        thread:set("tid", counter)
        counter = counter + 1
        table.insert(threads, thread)
end

local nodes, per_node, nthreads
local mine = {}        -- this thread's node names
local last_ms = {}     -- per node: the timestamp of its last body
local next_i = 1
requests_sent, non2xx, short = 0, 0, 0
first_error = ""

local hdrs = { ["Content-Type"] = "application/json" }
if os.getenv("BENCH_TOKEN") then
        hdrs["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end

function init(args)
        nodes = tonumber(args[1] or "64")
        per_node = tonumber(args[2] or "64")
        nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
        for n = 0, nodes - 1 do
                if n % nthreads == tid - 1 then
                        local name = string.format("bsn%04d", n)
                        table.insert(mine, name)
                        last_ms[name] = 0
                end
        end
end

local function stamp(ms)
        local s = math.floor(ms / 1000)
        return os.date("!%Y-%m-%dT%H:%M:%S", s) .. string.format(".%03dZ", ms % 1000)
end

-- The job part of every body is the same for a node but its timestamp; built once per node.
local bodies = {}

local function body_of(node)
        local b = bodies[node]
        if b then
                return b
        end
        local parts = {}
        local n = tonumber(string.sub(node, 4))
        for k = 1, per_node do
                parts[k] = string.format('{"job_id":"bsj%04d-%d","cpu_usage":%d.5,' ..
                        '"memory_usage_bytes":%d,"cpu_seconds":%d.25,"memory_peak_bytes":%d,' ..
                        '"memory_max_bytes":17179869184,"oom_kills":0,"pids":%d,' ..
                        '"io_read_bytes":%d,"io_write_bytes":%d}',
                        n, k, (n + k) % 100, 1048576 * (100 + k), 1000 + k, 1048576 * (200 + k),
                        1 + k % 7, 4096 * k, 8192 * k)
        end
        b = '"samples":[' .. table.concat(parts, ",") .. ']}'
        bodies[node] = b
        return b
end

function request()
        local node = mine[next_i]
        next_i = next_i % #mine + 1
        local ms = os.time() * 1000
        if ms <= last_ms[node] then
                ms = last_ms[node] + 1
        end
        last_ms[node] = ms
        requests_sent = requests_sent + 1
        local body = '{"node":"' .. node .. '","timestamp":"' .. stamp(ms) .. '",' .. body_of(node)
        return wrk.format("POST", "/v1/samples", hdrs, body)
end

function response(status, headers, body)
        if status < 200 or status > 299 then
                non2xx = non2xx + 1
                if first_error == "" then
                        first_error = status .. " " .. string.sub(body or "", 1, 200)
                end
                return
        end
        local stored = tonumber(string.match(body or "", '"stored"%s*:%s*(%d+)'))
        if stored ~= per_node then
                short = short + 1
                if first_error == "" then
                        first_error = "stored " .. tostring(stored) .. ": " .. string.sub(body or "", 1, 200)
                end
        end
end

function done(summary, latency, requests)
        local ns, sh, fe = 0, 0, ""
        for _, t in ipairs(threads) do
                ns = ns + (t:get("non2xx") or 0)
                sh = sh + (t:get("short") or 0)
                local e = t:get("first_error")
                if fe == "" and e and e ~= "" then
                        fe = e
                end
        end
        local secs = summary.duration / 1e6
        local e = summary.errors
        io.write(string.format("BENCH requests=%d rps=%.1f p50_us=%d p99_us=%d " ..
                "non2xx=%d short=%d connect=%d read=%d write=%d timeout=%d\n",
                summary.requests, summary.requests / secs,
                latency:percentile(50), latency:percentile(99), ns, sh, e.connect, e.read,
                e.write, e.timeout))
        if fe ~= "" then
                io.write("BENCH_FIRST_ERROR " .. fe .. "\n")
        end
end
