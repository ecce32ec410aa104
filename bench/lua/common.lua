-- Shared by every workload script: the harness concatenates this file and one workload file.
-- Arguments after `--`: token, then workload-specific values (see each file). Every thread counts its
-- response statuses; done() prints one JSON line (prefix BENCH_RESULT) that bench/run.py parses.
local threads = {}
local thread_id = 0

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

statuses = {}
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

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(threads) do
      local s = thread:get("statuses")
      for code, n in pairs(s) do
         counts[code] = (counts[code] or 0) + n
      end
   end
   local parts = {}
   for code, n in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', code, n))
   end
   io.write(string.format(
      'BENCH_RESULT {"duration_us": %d, "requests": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
      '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, ' ..
      '"statuses": {%s}}\n',
      summary.duration, summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean, table.concat(parts, ", ")))
end
