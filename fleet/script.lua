-- tollgate fleet lease script: one request for a lease on a shared token bucket, applied
-- atomically. It is the twin of State.Apply in state.go: same decisions, same floating-point
-- operations in the same order (a test runs both and compares them bit for bit).
--
-- KEYS[1]  bucket hash  {r, b, p, t, c, e}: rate, burst, pool, stamp (µs), created (µs), epoch
-- KEYS[2]  leases hash  process id -> "share burst expires seq reqid demand level live seen
--                       carry carryuntil"
-- Both keys carry the same hash tag, so they live in one Redis Cluster slot.
--
-- ARGV: client, reqid, seq, epoch, demand, level, unbacked, rate, burst, minburst, ttl (µs),
--       release (0/1), now (µs; 0 = the server's TIME), overflow, allowance, fleet
-- Reply: {seq, epoch, share, burst, level, ttl, live, pool, lost, replayed, carry}, all strings.

local function fmt(x) return string.format('%.17g', x) end
local function int(x) return string.format('%.0f', x) end
local function min(a, b) if b < a then return b end return a end
local function max(a, b) if b > a then return b end return a end

local client = ARGV[1]
local reqid = tonumber(ARGV[2])
local qseq = tonumber(ARGV[3])
local qepoch = ARGV[4]
local demand = tonumber(ARGV[5])
local qlevel = tonumber(ARGV[6])
local unbacked = tonumber(ARGV[7])
local qrate = tonumber(ARGV[8])
local qburst = tonumber(ARGV[9])
local minburst = tonumber(ARGV[10])
local ttl = tonumber(ARGV[11])
local release = ARGV[12] == '1'
local now = tonumber(ARGV[13])
local overflow = tonumber(ARGV[14])
local allowance = tonumber(ARGV[15])
local fleet = tonumber(ARGV[16])
if now == 0 then
  local tm = redis.call('TIME')
  now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])
end

local function idle_expiry(t, r, b) return 4 * t + math.floor(b / r * 1e6) + 1e6 end

local lost = false
local rate, burst, pool, stamp, created, epoch
local h = redis.call('HMGET', KEYS[1], 'r', 'b', 'p', 't', 'c', 'e')
if h[1] then
  rate, burst, pool = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
  stamp, created, epoch = tonumber(h[4]), tonumber(h[5]), h[6]
else
  -- A first request creates the bucket; a process that held a lease proves it was lost.
  redis.call('DEL', KEYS[2])
  lost = qseq > 0 or qepoch ~= ''
  rate, burst, pool, stamp, created, epoch = qrate, qburst, qburst, now, now, int(now)
  if lost then pool = 0 end
end
now = max(now, stamp)

-- Leases, decoded.
local recs = {}
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do
  local f = {}
  for w in string.gmatch(flat[i + 1], '%S+') do f[#f + 1] = tonumber(w) end
  recs[flat[i]] = {share = f[1], burst = f[2], expires = f[3], seq = f[4], reqid = f[5],
    demand = f[6], level = f[7], live = f[8], seen = f[9], carry = f[10], carryuntil = f[11]}
end

local function share_at(r, t)
  if t < r.carryuntil then return r.carry end
  return r.share
end

local rec = recs[client]
if rec and rec.reqid == reqid then
  return {int(rec.seq), epoch, fmt(rec.share), fmt(rec.burst), fmt(rec.level),
    int(max(rec.expires - now, 0)), int(rec.live), fmt(pool), '0', '1', int(max(rec.carryuntil - now, 0))}
end

-- Bring the pool up to now, lease by lease as they end.
local function refill(p, add, c)
  if add <= 0 then return p + add end
  return min(p + add, max(c, p))
end
if now > stamp then
  local t = stamp
  local live, changes = {}, {}
  for id, r in pairs(recs) do
    if r.expires > t then
      live[#live + 1] = id
      if r.carryuntil > t and r.carryuntil <= now then
        changes[#changes + 1] = {at = r.carryuntil, id = id, ends = false}
      end
      if r.expires <= now then changes[#changes + 1] = {at = r.expires, id = id, ends = true} end
    end
  end
  table.sort(live)
  table.sort(changes, function(a, b)
    if a.at ~= b.at then return a.at < b.at end
    if a.id ~= b.id then return a.id < b.id end
    return (not a.ends) and b.ends
  end)
  local held, bheld = 0, 0
  for _, id in ipairs(live) do
    held = held + share_at(recs[id], t)
    bheld = bheld + recs[id].burst
  end
  for _, c in ipairs(changes) do
    local r = recs[c.id]
    pool = refill(pool, (rate - held) * (c.at - t) / 1e6, burst - bheld)
    t = c.at
    if c.ends then
      held = held - r.share
      bheld = bheld - r.burst
    else
      held = held - (r.carry - r.share)
    end
  end
  pool = refill(pool, (rate - held) * (now - t) / 1e6, burst - bheld)
end
rate, burst = qrate, qburst

if qepoch ~= '' and qepoch ~= epoch then
  pool = min(pool, rate * (now - created) / 1e6)
  lost = true
elseif rec and qseq > rec.seq then
  pool = min(pool, 0)
  lost = true
end

-- Forget records long past their lease.
local keep = 4 * ttl
for id, r in pairs(recs) do
  if r.expires + keep < now and id ~= client then
    recs[id] = nil
    redis.call('HDEL', KEYS[2], id)
  end
end

-- Processes holding a live lease, and those that asked within a lease length: all claim a share.
local ids, claimants = {}, {}
for id, r in pairs(recs) do
  if id ~= client then
    if r.expires > now then ids[#ids + 1] = id end
    if r.expires > now or r.seen + ttl > now then claimants[#claimants + 1] = id end
  end
end
table.sort(ids)
table.sort(claimants)
local held, bheld = 0, 0
for _, id in ipairs(ids) do
  held = held + share_at(recs[id], now)
  bheld = bheld + recs[id].burst
end

-- Max-min fair share of the rate by demand (fairShares in share.go, line for line).
local function fair_share()
  local claims = {}
  for _, id in ipairs(claimants) do claims[#claims + 1] = {id = id, d = recs[id].demand} end
  if now - created < keep then
    while #claims < fleet - 1 do claims[#claims + 1] = {id = '', d = rate} end
  end
  claims[#claims + 1] = {id = client, d = demand}
  local n = #claims
  if rate <= 0 then return 0 end
  table.sort(claims, function(a, b)
    if a.d ~= b.d then return a.d < b.d end
    return a.id < b.id
  end)
  local out = {}
  local left, k = rate, n
  for i = 1, n do
    local d = max(claims[i].d, 0)
    local level = left / k
    if d > level then
      for j = i, n do out[claims[j].id] = level end
      return out[client]
    end
    out[claims[i].id] = d
    left = left - d
    k = k - 1
  end
  return out[client] + left / (2 * n)
end

local share, lburst = 0, 0
if not release then
  share = max(min(fair_share(), rate - held), 0)
  if share > 0 then
    lburst = min(max(burst * share / rate, minburst), max(burst - bheld, 0))
    if lburst < minburst then share, lburst = 0, 0 end
  end
end

local level = min(qlevel, lburst)
pool = pool + (qlevel - level + max(overflow, 0))
if lost then unbacked = max(unbacked - allowance, 0) end
if unbacked > 0 then
  local pay = min(unbacked, max(pool, 0))
  pool = pool - pay
  level = level - (unbacked - pay)
end
if share == 0 then
  pool = pool + level
  level = 0
end
if level < lburst and pool > 0 then
  local top = min(pool, lburst - level)
  pool = pool - top
  level = level + top
end
pool = min(pool, burst - bheld - lburst)

local live, expires = #claimants + 1, now
if share > 0 then
  if qseq == 0 or lost then expires = now + math.floor(ttl / 4) else expires = now + ttl end
end
-- A smaller share must not slow calls already promised a time at the old share.
local carry, carryuntil = 0, 0
if share > 0 and rec and rec.expires > now then
  local old, limit = share_at(rec, now), rec.expires
  if now < rec.carryuntil then limit = rec.carryuntil end
  local debt = max(-qlevel, 0)
  if old > share and debt > 0 then
    carryuntil = min(now + math.floor(debt / old * 1e6), limit)
    if carryuntil > now then carry = old else carryuntil = 0 end
  end
end
local seq = qseq + 1
if rec and rec.seq >= seq then seq = rec.seq + 1 end

redis.call('HSET', KEYS[2], client, table.concat({fmt(share), fmt(lburst), int(expires), int(seq),
  int(reqid), fmt(demand), fmt(level), int(live), int(now), fmt(carry), int(carryuntil)}, ' '))
redis.call('HSET', KEYS[1], 'r', fmt(rate), 'b', fmt(burst), 'p', fmt(pool), 't', int(now),
  'c', int(created), 'e', epoch)
local idle = math.ceil(idle_expiry(ttl, rate, burst) / 1000)
redis.call('PEXPIRE', KEYS[1], idle)
redis.call('PEXPIRE', KEYS[2], idle)
local l = '0'
if lost then l = '1' end
return {int(seq), epoch, fmt(share), fmt(lburst), fmt(level), int(expires - now), int(live),
  fmt(pool), l, '0', int(max(carryuntil - now, 0))}
