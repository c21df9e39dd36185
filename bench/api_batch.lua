-- wrk script: POST /v1/accounts:lookup with 100 random ids per request.
local n = tonumber(os.getenv("BW_BENCH_ACCOUNTS") or "1000000")
local first = 10000000
local batch = tonumber(os.getenv("BW_BENCH_BATCH") or "100")

function setup(thread) thread:set("seed", math.random(1, 1e9)) end
function init(args) math.randomseed(seed) end

request = function()
	local ids = {}
	for i = 1, batch do ids[i] = '"' .. (first + math.random(0, n - 1)) .. '"' end
	return wrk.format("POST", "/v1/accounts:lookup", { ["Content-Type"] = "application/json" },
		'{"ids":[' .. table.concat(ids, ",") .. ']}')
end

done = function(summary, latency, requests)
	io.write(string.format("non-200 responses: %d\n", summary.errors.status))
end
