-- wrk script: every request carries the next of many session cookies
-- (bench/mint's output, one token a line, the file given after --), so
-- that the handler sees as many distinct signed-in visitors as there are
-- tokens. The threads start evenly spread over the list. Any answer
-- but 200 is counted, and bench/sessions.sh fails on it.
local tokens = {}
local i = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = "otp_session=" .. line
  end
  -- The threads start evenly spread (args[2] is how many there are: each
  -- thread has a Lua state of its own, which knows only its id), so that
  -- together they reach every token in one pass.
  local n = tonumber(args[2]) or 1
  i = math.floor(#tokens * (id - 1) / n)
  bad = 0
end

request = function()
  i = i % #tokens + 1
  wrk.headers["Cookie"] = tokens[i]
  return wrk.format()
end

response = function(status)
  if status ~= 200 then bad = bad + 1 end
end

done = function()
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("BAD %d\n", n))
end
