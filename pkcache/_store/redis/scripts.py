"""The Redis store's server-side scripts: each does in one atomic round trip what must not be split.

Entries: an entry, its index row and the totals change together. Locks: a lock is only
renewed or released by the holder whose token it still holds.

An index row is "size created"; totals are hashes with fields n (entries) and b (bytes).
What the scripts read is untrusted as any metadata: a total or a row that is not a
number counts as 0 (the next exact prune corrects the totals), never an error.
"""

# Add to a running total; one that is not a whole number starts again from 0.
_ADD = """
local function add(key, field, delta)
  if delta == 0 then return end
  local now = tonumber(redis.call('HGET', key, field))
  if now == nil or now ~= math.floor(now) or now ~= now then now = 0 end
  redis.call('HSET', key, field, string.format('%d', now + delta))
end
local function size_of(row)
  return tonumber(string.match(row, '^%d+')) or 0
end
"""

# Store an entry with its index row, and add it to the totals (an old row: by the difference).
PUT = (
    _ADD
    + """
if ARGV[4] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
end
local old = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local size = string.len(ARGV[1])
local n, b = 1, size
if old then n = 0; b = size - size_of(old) end
for i = 3, 4 do
  add(KEYS[i], 'n', n)
  add(KEYS[i], 'b', b)
end
redis.call('SADD', KEYS[5], ARGV[5])
-- The writer's lock on the key, handed over: released with the store, one round trip less.
if ARGV[6] and redis.call('GET', KEYS[6]) == ARGV[6] then
  redis.call('DEL', KEYS[6])
  redis.call('PUBLISH', KEYS[7], '1')
end
return 1
"""
)
# Remove an entry, its index row and its share of the totals; returns {existed, counted, size}.
REMOVE = (
    _ADD
    + """
local existed = redis.call('DEL', KEYS[1])
local row = redis.call('HGET', KEYS[2], ARGV[1])
if not row then return {existed, 0, 0} end
redis.call('HDEL', KEYS[2], ARGV[1])
local size = size_of(row)
for i = 3, 4 do
  add(KEYS[i], 'n', -1)
  add(KEYS[i], 'b', -size)
end
return {existed, 1, size}
"""
)
# Drop the index row of an entry Redis no longer has (unless it was written again meanwhile).
# Totals are left high: the next prune's exact count corrects them.
FORGET = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return redis.call('HDEL', KEYS[2], ARGV[1])
"""
# Replace running totals by an exact count plus what changed since the count began.
CORRECT = """
local now = redis.call('HMGET', KEYS[1], 'n', 'b')
local n = tonumber(ARGV[1]) + (tonumber(now[1]) or 0) - tonumber(ARGV[3])
local b = tonumber(ARGV[2]) + (tonumber(now[2]) or 0) - tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'n', string.format('%d', math.max(n, 0)), 'b', string.format('%d', math.max(b, 0)))
return 1
"""
# Once a namespace's index is empty, take what is left of its totals off the store's.
RETIRE = (
    _ADD
    + """
if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
local left = redis.call('HMGET', KEYS[2], 'n', 'b')
local n, b = tonumber(left[1]) or 0, tonumber(left[2]) or 0
if n ~= math.floor(n) or n ~= n then n = 0 end
if b ~= math.floor(b) or b ~= b then b = 0 end
add(KEYS[3], 'n', -n)
add(KEYS[3], 'b', -b)
redis.call('DEL', KEYS[2])
return 1
"""
)

# Take the lock and, in the same round trip, read the entry it guards: the holder's
# first question is whether someone stored it meanwhile.
ACQUIRE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return {1, redis.call('GET', KEYS[2])}
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], '1')
  return 1
end
return 0
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
