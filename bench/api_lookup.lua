-- wrk script: single lookups of random ids in the bench store
-- (bw_mkstore ids 10000000 .. 10000000+N-1; N from env BW_BENCH_ACCOUNTS).
-- Requests are built once per thread and cycled, so wrk spends its CPU on
-- sending, not on Lua string building.
local n = tonumber(os.getenv("BW_BENCH_ACCOUNTS") or "1000000")
local first = 10000000
local token = os.getenv("BW_BENCH_TOKEN")
local headers = {}
if token then headers["Authorization"] = "Bearer " .. token end

local reqs, i = {}, 0
function setup(thread) thread:set("seed", math.random(1, 1e9)) end
function init(args)
	math.randomseed(seed)
	for k = 1, 20000 do
		reqs[k] = wrk.format("GET", "/v1/accounts/" .. (first + math.random(0, n - 1)), headers)
	end
end

request = function()
	i = i % #reqs + 1
	return reqs[i]
end

done = function(summary, latency, requests)
	io.write(string.format("non-2xx responses: %d\n", summary.errors.status))
end
