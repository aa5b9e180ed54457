-- wrk script for the serving benchmarks. BENCH_MODE: page (GET the pack page), form (the pack page's
-- report form, with a CSRF token and session cookie), api (POST /api/v1/packs/<token>/reports).
-- Every report carries a unique idempotency key; requests spread over every pack in BENCH_TOKENS, so
-- no pack reaches its size. BENCH_FORWARDED=1 adds a random X-Forwarded-For (many volunteers).
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local mode = os.getenv("BENCH_MODE") or "page"
local csrf = os.getenv("BENCH_CSRF") or ""
local cookie = os.getenv("BENCH_COOKIE") or ""
local forwarded = (os.getenv("BENCH_FORWARDED") or "") ~= ""
local count = 0
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end

function init(args)
  tid = tid or 0
  math.randomseed(os.time() * 1000 + tid * 7919)
  prefix = string.format("b%d-%x-%x", tid, os.time(), math.random(0, 2147483646))
  count = math.random(0, #tokens)
end

function request()
  count = count + 1
  local token = tokens[(count * 7919) % #tokens + 1]
  local headers = {}
  if forwarded then
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  end
  if mode == "page" then
    return wrk.format("GET", "/p/" .. token, headers)
  end
  local key = prefix .. "-" .. count
  if mode == "api" then
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = key
    return wrk.format("POST", "/api/v1/packs/" .. token .. "/reports", headers, '{"cards": 1}')
  end
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  headers["Cookie"] = cookie
  return wrk.format("POST", "/p/" .. token, headers,
    "csrf_token=" .. csrf .. "&idempotency_key=" .. key .. "&cards=1")
end
