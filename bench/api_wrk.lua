-- wrk script for the lookup API bench (bench/run.sh, section api).
-- BW_BENCH_BATCH=0 (default): GET /v1/accounts/{id} of random ids;
-- BW_BENCH_BATCH=N: POST /v1/accounts:lookup with N random ids per request.
-- Ids come from the bw_mkstore range 10000000 .. 10000000+N-1
-- (N = BW_BENCH_ACCOUNTS). Requests are built once per thread and cycled, so
-- wrk spends its CPU on sending, not on Lua string building.
local n = tonumber(os.getenv("BW_BENCH_ACCOUNTS") or "1000000")
local batch = tonumber(os.getenv("BW_BENCH_BATCH") or "0")
local first = 10000000
local token = os.getenv("BW_BENCH_TOKEN")
local headers = {}
if token then headers["Authorization"] = "Bearer " .. token end
if batch > 0 then headers["Content-Type"] = "application/json" end

local function random_id() return first + math.random(0, n - 1) end

local function build()
	if batch == 0 then
		return wrk.format("GET", "/v1/accounts/" .. random_id(), headers)
	end
	local ids = {}
	for j = 1, batch do ids[j] = '"' .. random_id() .. '"' end
	return wrk.format("POST", "/v1/accounts:lookup", headers,
		'{"ids":[' .. table.concat(ids, ",") .. ']}')
end

local reqs, i = {}, 0
function setup(thread) thread:set("seed", math.random(1, 1e9)) end
function init(args)
	math.randomseed(seed)
	for k = 1, (batch == 0 and 20000 or 2000) do reqs[k] = build() end
end

request = function()
	i = i % #reqs + 1
	return reqs[i]
end

done = function(summary, latency, requests)
	io.write(string.format("non-2xx responses: %d\n", summary.errors.status))
end
