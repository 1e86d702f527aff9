-- See COPYING for copyright and license details.
--
-- tests/bench/haproxy-reload.lua: wrk script of the keep-alive load of
-- tests/bench/haproxy-reload.sh. Each connection sends its next request
-- HPR_KA_DELAY_MS after the last answer (a steady load that does not
-- saturate the machine), and done() prints one JSON line with the counts
-- and the latencies in microseconds. wrk's latency starts when the
-- request is written: the time to (re)connect is never part of it.
local delay_ms = tonumber(os.getenv("HPR_KA_DELAY_MS") or "10")

function delay()
	return delay_ms
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
	local e = summary.errors
	io.write(string.format('HPRBENCH {"seconds":%.3f,"requests":%d,' ..
		'"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
		'"slow_1s":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
		summary.duration / 1e6, summary.requests,
		e.connect, e.read, e.write, e.status, e.timeout, slow,
		latency:percentile(50), latency:percentile(99), latency.max))
end
