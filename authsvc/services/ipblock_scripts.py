"""The Lua scripts of services/ipblocks.py: each is one round trip, atomic on Redis' clock.

Networks are fields "4/<prefix bits>" or "6/<prefix bits>" of keys.IP_BLOCK_NETS holding
"<block id> <expiry, epoch ms>"; keys.IP_BLOCK_LENGTHS counts the blocked networks per
"<family>/<prefix length>", so the check asks only the lengths in use.
"""

# Redis' clock in ms, as `now`.
NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# blocked_for(nets key, lengths key, family ('4' | '6'), the address as a bit string, now):
# the longest remaining block in ms (0: not blocked). Shared by CHECK_LUA and the send-limit
# script (sendlimits.py), which checks a code request's network in its own round trip.
BLOCKED_FOR = """
local function blocked_for(nets, lengths, family, bits, now)
  local wait = 0
  for _, entry in ipairs(redis.call('HKEYS', lengths)) do
    local f, length = string.match(entry, '^(%d)/(%d+)$')
    if f == family then
      local held = redis.call('HGET', nets, f .. '/' .. string.sub(bits, 1, tonumber(length)))
      if held then
        local ends = tonumber(string.match(held, ' (%d+)$'))
        if ends - now > wait then wait = ends - now end
      end
    end
  end
  return wait
end
"""

# KEYS: nets, lengths. ARGV: family, the address as a bit string. Returns blocked_for's wait.
CHECK_LUA = NOW + BLOCKED_FOR + "return blocked_for(KEYS[1], KEYS[2], ARGV[1], ARGV[2], now)\n"

# Put a block on one network field. KEYS: nets, lengths, records, hits (or the same nets key).
# ARGV: field, length field, id, seconds, record JSON, mode ('set' | 'hit'), window, threshold.
# 'hit' counts one limit answer first and blocks only at the threshold (never shortening a
# longer block already there). Returns the id of the block it replaced, '' for none, or
# false when nothing was blocked.
BLOCK_LUA = """
if ARGV[6] == 'hit' then
  local n = redis.call('INCR', KEYS[4])
  if n == 1 then redis.call('EXPIRE', KEYS[4], ARGV[7]) end
  if n < tonumber(ARGV[8]) then return false end
  redis.call('DEL', KEYS[4])
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ends = now + tonumber(ARGV[4]) * 1000
local old = redis.call('HGET', KEYS[1], ARGV[1])
local replaced = ''
if old then
  if ARGV[6] == 'hit' and tonumber(string.match(old, ' (%d+)$')) >= ends then return false end
  replaced = string.match(old, '^(%S+)')
  redis.call('HDEL', KEYS[3], replaced)
else
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. ' ' .. ends)
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
return replaced
"""

# KEYS: nets, lengths, records. ARGV: field, length field, id. Returns 1 when the record existed.
LIFT_LUA = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held and string.match(held, '^(%S+)') == ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
end
return redis.call('HDEL', KEYS[3], ARGV[3])
"""
