-- wrk script: JSON POST of {"email": "u<n>@bench.example.com"}, n cycling over BENCH_USERS
-- distinct addresses (each wrk thread starts at its own offset). The same script drives
-- authsvc's POST /api/v1/password-resets and Flask-Security-Too's POST /reset.
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
local next_id = 0

function setup(thread)
  thread:set("offset", next_id * 7919)
  next_id = next_id + 1
end

local counter = 0

function request()
  counter = counter + 1
  local n = ((offset or 0) + counter) % users
  local body = '{"email": "u' .. n .. '@bench.example.com"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
