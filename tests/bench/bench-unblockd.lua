-- wrk script: POST /v1/unblock/response (bench-unblockd.sh)
-- The Authorization header is read from the file CARDPIN_BENCH_AUTH_FILE names.
local f = assert(io.open(os.getenv("CARDPIN_BENCH_AUTH_FILE"), "r"))
local authorization = f:read("*l")
f:close()

wrk.method = "POST"
wrk.body = '{"serial": "' .. os.getenv("CARDPIN_BENCH_SERIAL") ..
           '", "challenge": "00112233445566778899AABBCCDDEEFF", "algorithm": "aes128"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = authorization

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %.1f %.2f %.2f %d\n", summary.requests,
                         summary.requests / (summary.duration / 1e6),
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
