-- wrk script for bench/run: POSTs the benchmark's chat request (the same bytes LoadGen sends) and prints one
-- machine-readable summary line. Settings come from the environment:
--   BENCH_MODEL    the model name to ask for (default "bench")
--   BENCH_STREAM   "1" for a streamed request
--   BENCH_HEADERS  extra request headers, one "Name: value" per line
local model = os.getenv("BENCH_MODEL") or "bench"
local body = '{"model":"' .. model .. '","messages":[{"role":"system","content":"You are terse."},'
    .. '{"role":"user","content":"Say hello to the benchmark."}],"max_tokens":64'
if os.getenv("BENCH_STREAM") == "1" then
  body = body .. ',"stream":true,"stream_options":{"include_usage":true}'
end
wrk.method = "POST"
wrk.body = body .. "}"
wrk.headers["Content-Type"] = "application/json"
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

-- WRK <requests> <duration us> <errors> <p50> <p90> <p99> <p99.9> <max> <mean>  (latencies in microseconds)
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\n",
      summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
      latency.max, latency.mean))
end
