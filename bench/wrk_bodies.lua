-- wrk script: POST request bodies in turn, one JSON document per line of the file named by
-- WRK_BODIES; counts responses that are not HTTP 200 or carry GraphQL "errors"; prints a JSON
-- summary line ("WRK_JSON {...}") that bench/run.py reads.
local threads = {}
local counter = 0
local bodies = {}
failures = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("WRK_BODIES")) do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  -- Threads start at different bodies so that they do not ask the same centre in step.
  counter = (id * 7919) % #bodies
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[counter])
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("failures") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "failed_responses": %d, ' ..
    '"socket_errors": %d, "timeouts": %d, "non_2xx": %d, "latency_mean_us": %.1f, ' ..
    '"latency_max_us": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"p999_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, failed,
    e.connect + e.read + e.write, e.timeout, e.status, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency:percentile(99.9)))
end
