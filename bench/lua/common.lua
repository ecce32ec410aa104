-- Shared by every workload script: the harness concatenates this file and one workload file.
-- Arguments after `--`: token, then workload-specific values (see each file). Every thread counts its
-- response statuses and times each request; done() prints one JSON line (prefix BENCH_RESULT) that
-- bench/run.py parses.
--
-- Latency: wrk's own percentiles are corrected for coordinated omission (for every response slower
-- than a connection's mean interval between requests, wrk 4 adds synthetic samples down to that
-- interval), pgbench's are not. So each request is also timed here, from request() to response(),
-- matched by an X-Request-ID the service echoes: raw latencies, as pgbench's per-transaction log has.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

local function now_us()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
   return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local threads = {}
local thread_id = 0

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

statuses = {}
latencies = {}
started = {}
stamps = 0
token = nil
nthreads = 1

function common_init(args)
   thread_id = wrk.thread:get("id")
   token = args[1]
   nthreads = tonumber(args[#args])
   math.randomseed(os.time() * 100 + thread_id)
end

function tid()
   return thread_id
end

function auth_headers(json)
   local h = { ["Authorization"] = "Bearer " .. token }
   if json then
      h["Content-Type"] = "application/json"
   end
   return h
end

-- wrk.format with an X-Request-ID unique in the run; the request's send time is kept under it.
function stamped(method, path, headers, body)
   stamps = stamps + 1
   local id = "b" .. thread_id .. "-" .. stamps
   headers = headers or {}
   headers["X-Request-ID"] = id
   started[id] = now_us()
   return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   local id = headers["x-request-id"] or headers["X-Request-ID"]
   local sent = id and started[id]
   if sent then
      latencies[#latencies + 1] = now_us() - sent
      started[id] = nil
   end
end

-- as bench/drivers.py's percentile(): the nearest rank of a sorted list
local function percentile(sorted, q)
   if #sorted == 0 then
      return 0
   end
   return sorted[math.floor(q / 100 * (#sorted - 1) + 0.5) + 1]
end

function done(summary, latency, requests)
   local counts = {}
   local raw = {}
   for _, thread in ipairs(threads) do
      local s = thread:get("statuses")
      for code, n in pairs(s) do
         counts[code] = (counts[code] or 0) + n
      end
      for _, us in ipairs(thread:get("latencies")) do
         raw[#raw + 1] = us
      end
   end
   table.sort(raw)
   local parts = {}
   for code, n in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', code, n))
   end
   io.write(string.format(
      'BENCH_RESULT {"duration_us": %d, "requests": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
      '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, ' ..
      '"raw_latency_us": {"n": %d, "p50": %d, "p90": %d, "p99": %d, "max": %d}, "statuses": {%s}}\n',
      summary.duration, summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean, #raw, percentile(raw, 50), percentile(raw, 90),
      percentile(raw, 99), raw[#raw] or 0, table.concat(parts, ", ")))
end
