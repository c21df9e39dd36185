-- wrk script: POST /v1/accounts:lookup with BW_BENCH_BATCH (100) random ids
-- per request; requests are built once per thread and cycled.
local n = tonumber(os.getenv("BW_BENCH_ACCOUNTS") or "1000000")
local first = 10000000
local batch = tonumber(os.getenv("BW_BENCH_BATCH") or "100")
local token = os.getenv("BW_BENCH_TOKEN")
local headers = { ["Content-Type"] = "application/json" }
if token then headers["Authorization"] = "Bearer " .. token end

local reqs, i = {}, 0
function setup(thread) thread:set("seed", math.random(1, 1e9)) end
function init(args)
	math.randomseed(seed)
	for k = 1, 2000 do
		local ids = {}
		for j = 1, batch do ids[j] = '"' .. (first + math.random(0, n - 1)) .. '"' end
		reqs[k] = wrk.format("POST", "/v1/accounts:lookup", headers,
			'{"ids":[' .. table.concat(ids, ",") .. ']}')
	end
end

request = function()
	i = i % #reqs + 1
	return reqs[i]
end

done = function(summary, latency, requests)
	io.write(string.format("non-2xx responses: %d\n", summary.errors.status))
end
