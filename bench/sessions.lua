-- wrk script: every request carries the next of many session cookies
-- (bench/mint's output, one token a line, the file given after --), so
-- that the handler sees as many distinct signed-in visitors as there are
-- tokens. The threads start evenly spread over the list. Any answer
-- but 200 is counted, and bench/sessions.sh fails on it.
--
-- With a third argument "pass" (bench/sessions.sh's cold fill), each
-- token is asked exactly once: each thread takes its own slice of the
-- list, and once every request of its slice has been answered 200, it
-- appends a line to the file named by the fourth argument and stops (wrk
-- itself runs on until -d is over, or until it gets SIGINT, which is what
-- the script sends once every thread wrote its line). A connection that
-- would start a request past the end of its thread's slice asks for
-- {prefix}/session with no cookie instead (a 401 that touches no
-- session), so that no token is asked twice.
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
  last = math.floor(#tokens * id / n)
  size = last - i
  pass = args[3] == "pass"
  marker = args[4]
  -- wrk calls the first thread's request() once before any connection,
  -- to check what it returns (script_verify_request): that call must not
  -- use up a token of the pass.
  probe = pass and id == 1
  bad, ok = 0, 0
end

request = function()
  if pass then
    if i >= last or probe then
      probe = false
      return wrk.format(nil, "/_otp/session", {})
    end
    i = i + 1
    return wrk.format(nil, "/", {Cookie = tokens[i]})
  end
  i = i % #tokens + 1
  wrk.headers["Cookie"] = tokens[i]
  return wrk.format()
end

response = function(status)
  if status == 200 then
    ok = ok + 1
    if pass and ok == size then
      local f = io.open(marker, "a")
      f:write("done\n")
      f:close()
      wrk.thread:stop()
    end
  elseif not (pass and status == 401) then
    bad = bad + 1
  end
end

done = function(summary)
  local n, good = 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("bad")
    good = good + t:get("ok")
  end
  io.write(string.format("BAD %d\n", n))
  io.write(string.format("OK %d SECONDS %.3f\n", good, summary.duration / 1e6))
end
