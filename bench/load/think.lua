-- wrk script: each connection waits BENCH_THINK_MS milliseconds after an answer before sending its
-- next request, so the load stays below saturation and latency is service time, not queueing.
local think = tonumber(os.getenv("BENCH_THINK_MS") or "0")

function delay()
  return think
end
