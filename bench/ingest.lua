-- bench/ingest.lua: wrk script for the event-ingest benchmark (bench/run.sh).
--
--   wrk -t2 -c64 -d10s --latency -s bench/ingest.lua http://127.0.0.1:PORT -- PREFIX RUNTAG
--
-- PREFIX is the path before /job-started and /job-finished: "/v1/events" for hjo-api,
-- "/ceiling" for bench/ceiling_fcgi.c.  RUNTAG makes the job ids of one wrk run distinct from
-- every other run against the same database.
--
-- Each wrk thread has its own id prefix (b<RUNTAG>t<N>-), set in setup(), so no two threads or
-- connections ever send the same id.  A job's job-finished is sent only after its job-started
-- was answered (the answer carries "job_id"): request() sends the finish of the oldest answered
-- start when there is one, otherwise the start of a new job.  So starts and finishes alternate
-- about 1:1 and every finish takes the normal "known running job" path, never the "start was
-- lost" one.
--
-- response() counts non-2xx answers and answers without a job_id; done() prints one line
--   BENCH key=value ...
-- that bench/run.sh parses (latencies in microseconds).

local counter = 1
local threads = {}

function setup(thread)
        thread:set("tid", counter)
        counter = counter + 1
        table.insert(threads, thread)
end

local prefix, idprefix
local seq = 0
local pending = {}     -- ids whose job-started is in flight
local ready = {}       -- ids whose job-started was answered (FIFO)
local rhead, rtail = 1, 0
starts, finishes, pairs_done, non2xx, noid = 0, 0, 0, 0, 0
first_error = ""

local hdrs = { ["Content-Type"] = "application/json" }
-- BENCH_TOKEN: hjo's bearer token (an ingest token made by bench/run.sh); the ceiling gets the
-- same header, so both paths receive the same bytes.
if os.getenv("BENCH_TOKEN") then
        hdrs["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end

function init(args)
        prefix = args[1] or "/v1/events"
        local runtag = args[2] or tostring(os.time())
        idprefix = "b" .. runtag .. "t" .. tostring(tid) .. "-"
end

local function now()
        return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

function request()
        if rhead <= rtail then
                local id = ready[rhead]
                ready[rhead] = nil
                rhead = rhead + 1
                finishes = finishes + 1
                local body = '{"job_id":"' .. id .. '","timestamp":"' .. now() .. '","exit_code":0}'
                return wrk.format("POST", prefix .. "/job-finished", hdrs, body)
        end
        seq = seq + 1
        local id = idprefix .. seq
        pending[id] = true
        starts = starts + 1
        local body = '{"job_id":"' .. id .. '","user":"bench","node_list":["cn' .. (seq % 512) ..
                '","cn' .. ((seq + 1) % 512) .. '"],"timestamp":"' .. now() .. '"}'
        return wrk.format("POST", prefix .. "/job-started", hdrs, body)
end

function response(status, headers, body)
        if status < 200 or status > 299 then
                non2xx = non2xx + 1
                if first_error == "" then
                        first_error = tostring(status) .. " " .. string.sub(body or "", 1, 200)
                end
                return
        end
        local id = body and string.match(body, '"job_id"%s*:%s*"([^"]+)"')
        if not id then
                noid = noid + 1
                return
        end
        if pending[id] then
                pending[id] = nil
                rtail = rtail + 1
                ready[rtail] = id
        else
                pairs_done = pairs_done + 1
        end
end

function done(summary, latency, requests)
        local s, f, p, e, n = 0, 0, 0, 0, 0
        local ferr = ""
        for _, t in ipairs(threads) do
                s = s + t:get("starts")
                f = f + t:get("finishes")
                p = p + t:get("pairs_done")
                e = e + t:get("non2xx")
                n = n + t:get("noid")
                local fe = t:get("first_error")
                if ferr == "" and fe and fe ~= "" then
                        ferr = fe
                end
        end
        local se = summary.errors
        local secs = summary.duration / 1e6
        io.write(string.format(
                "BENCH requests=%d duration_s=%.3f rps=%.1f pairs_done=%d starts=%d finishes=%d " ..
                "non2xx=%d noid=%d connect=%d read=%d write=%d timeout=%d status=%d " ..
                "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
                summary.requests, secs, summary.requests / secs, p, s, f, e, n,
                se.connect, se.read, se.write, se.timeout, se.status,
                latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
        if ferr ~= "" then
                io.write("BENCH_FIRST_ERROR " .. string.gsub(ferr, "[\r\n]", " ") .. "\n")
        end
end
