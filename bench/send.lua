-- wrk script: POST /_otp/send with a random valid US number each time,
-- and count the answers by status, so sends/s counts only codes sent.
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local counts = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init()
  ok, other = 0, 0
end

request = function()
  -- +1 201 NXX XXXX with N in 2-8 and XX not 11: always a valid number.
  local nxx = math.random(2, 8) * 100 + math.random(20, 99)
  local body = string.format('{"phone":"+1201%03d%04d"}', nxx, math.random(0, 9999))
  return wrk.format(nil, "/_otp/send", nil, body)
end

response = function(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local sent, refused = 0, 0
  for _, t in ipairs(threads) do
    sent = sent + t:get("ok")
    refused = refused + t:get("other")
  end
  io.write(string.format("SENT %d REFUSED %d SECONDS %.3f\n", sent, refused, summary.duration / 1e6))
end
