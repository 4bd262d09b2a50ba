-- wrk script: HTTP/1.1 pipelining.  wrk ... -s pipeline.lua URL -- DEPTH PATH
-- Each connection writes DEPTH requests in one write() and waits for all DEPTH responses.
-- wrk counts every response in summary.requests but takes ONE latency sample per batch
-- (and its coordinated-omission correction makes percentile(99) unreliable here), so only
-- rps/requests/errors are used from this script.
init = function(args)
  local depth = tonumber(args[1]) or 16
  local path = args[2] or "/plaintext"
  local r = {}
  for i = 1, depth do r[i] = wrk.format(nil, path) end
  req = table.concat(r)
end
request = function() return req end
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.1f requests=%d duration_s=%.3f p50_us=%d p99_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests / s, summary.requests, s,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
