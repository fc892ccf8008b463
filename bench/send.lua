-- wrk script: POST /_otp/send with a random valid US number each time,
-- and count the answers by status, so sends/s counts only codes sent.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local counts = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init()
  -- Each thread its own sequence: the same numbers from two threads
  -- would meet the resend gap and measure the limiter, not sends.
  math.randomseed(os.time() * 1000 + id)
  ok, s400, s429, s5xx, other = 0, 0, 0, 0, 0
end

request = function()
  -- +1 201 NXX XXXX with N in 2-8 and XX not 11: always a valid number.
  local nxx = math.random(2, 8) * 100 + math.random(20, 99)
  local body = string.format('{"phone":"+1201%03d%04d"}', nxx, math.random(0, 9999))
  return wrk.format(nil, "/_otp/send", nil, body)
end

response = function(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif status == 400 then s400 = s400 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status >= 500 then s5xx = s5xx + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local sent, b400, b429, b5xx, rest = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    sent = sent + t:get("ok")
    b400 = b400 + t:get("s400")
    b429 = b429 + t:get("s429")
    b5xx = b5xx + t:get("s5xx")
    rest = rest + t:get("other")
  end
  io.write(string.format("SENT %d 400 %d 429 %d 5XX %d OTHER %d SECONDS %.3f ERRORS %d\n",
    sent, b400, b429, b5xx, rest, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
