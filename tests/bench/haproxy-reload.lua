-- See COPYING for copyright and license details.
--
-- tests/bench/haproxy-reload.lua: wrk script of the keep-alive load of
-- tests/bench/haproxy-reload.sh. Each connection sends its next request
-- HPR_KA_DELAY_MS after the last answer (a steady load that does not
-- saturate the machine). It counts the requests sent and the answers
-- (and those that were not 200): wrk 4.1 counts a "read error" for a
-- connection the server closes while it is idle, between two requests,
-- which loses nothing; a request sent and never answered is lost. Once
-- the file HPR_KA_STOP exists no connection sends another request, so
-- that none is in flight when wrk is stopped. done() prints one JSON
-- line; latencies are in microseconds, and wrk's clock starts when the
-- request is written: the time to (re)connect is never part of it.
local delay_ms = tonumber(os.getenv("HPR_KA_DELAY_MS") or "10")
local stop_file = os.getenv("HPR_KA_STOP") or ""
local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	sent, answered, not200 = 0, 0, 0
	req = wrk.format()
end

function delay()
	if stop_file ~= "" then
		local f = io.open(stop_file)
		if f ~= nil then
			f:close()
			return 3600 * 1000
		end
	end
	return delay_ms
end

function request()
	sent = sent + 1
	return req
end

function response(status, headers, body)
	answered = answered + 1
	if status ~= 200 then
		not200 = not200 + 1
	end
end

function done(summary, latency, requests)
	-- latency(i): the i-th distinct value and its count, ascending;
	-- walk down from the largest while it is >= 1 s.
	local slow, i = 0, #latency
	while i >= 1 do
		local v, c = latency(i)
		if v < 1000000 then
			break
		end
		slow = slow + c
		i = i - 1
	end
	-- wrk calls request() once in the first thread before the run, to
	-- check the request: that one is never sent.
	local s, a, n = -1, 0, 0
	for _, t in ipairs(threads) do
		s = s + t:get("sent")
		a = a + t:get("answered")
		n = n + t:get("not200")
	end
	local e = summary.errors
	io.write(string.format('HPRBENCH {"seconds":%.3f,"sent":%d,"answered":%d,' ..
		'"not200":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
		'"timeout":%d,"slow_1s":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
		summary.duration / 1e6, s, a, n,
		e.connect, e.read, e.write, e.status, e.timeout, slow,
		latency:percentile(50), latency:percentile(99), latency.max))
end
