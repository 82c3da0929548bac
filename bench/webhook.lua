-- wrk script for bench/webhook.py: each thread sends its own file of pre-signed, AES-encrypted
-- WeChat deliveries (one per line: "<path?query>\t<body>"), counts replies that are not an
-- encrypted 200, and says when it ran out of requests (then the figures are not valid).
-- Usage: wrk -t2 -c16 -d5s -s bench/webhook.lua http://127.0.0.1:PORT -- /tmp/prefix
local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

function init(args)
   local prefix = args[1]
   requests, sent, bad, exhausted = {}, 0, 0, 0
   local headers = {["Content-Type"] = "text/xml"}
   for line in io.lines(prefix .. "-" .. id .. ".txt") do
      local tab = line:find("\t", 1, true)
      requests[#requests + 1] = wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1))
   end
end

function request()
   sent = sent + 1
   if sent > #requests then
      exhausted = 1
      return requests[(sent - 1) % #requests + 1]
   end
   return requests[sent]
end

function response(status, headers, body)
   if status ~= 200 or not body:find("<Encrypt>", 1, true) then
      bad = bad + 1
   end
end

function done(summary, latency, _requests)
   local sent, bad, exhausted = {}, 0, 0
   for _, thread in ipairs(threads) do
      sent[#sent + 1] = tostring(thread:get("sent"))
      bad = bad + thread:get("bad")
      exhausted = math.max(exhausted, thread:get("exhausted"))
   end
   io.write(string.format(
      'RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, ' ..
      '"errors": %d, "bad": %d, "exhausted": %d, "sent": [%s]}\n',
      summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
      latency.max / 1e3, summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.status + summary.errors.timeout, bad, exhausted, table.concat(sent, ", ")))
end
