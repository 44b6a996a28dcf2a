-- tollgate fleet lease script: one request for a lease on a shared token bucket, applied
-- atomically. It is the twin of State.Apply in state.go: same decisions, same floating-point
-- operations in the same order (a test runs both and compares them bit for bit).
--
-- KEYS[1]  bucket hash  {r, b, p, t, c, e}: rate, burst, pool, stamp (µs), created (µs), epoch;
--                       and the learned rate (learn.go): {l, s, h, bb, pl, a, w, k, cv}: learned,
--                       successes, throttles, base, plateau, armed, window, cut, curve (µs);
--                       and the recovery (State.Since, Expect): {rs, x}: since (µs), expect
-- KEYS[2]  leases hash  process id -> "share burst expires seq reqid demand level live seen
--                       carry carryuntil"
-- Both keys carry the same hash tag, so they live in one Redis Cluster slot.
--
-- ARGV: client, reqid, seq, epoch, demand, level, unbacked, rate, burst, minburst, ttl (µs),
--       release (0/1), now (µs; 0 = the server's TIME), overflow, allowance, fleet, succ, thr,
--       adaptive (0/1)
-- Reply: {seq, epoch, share, burst, level, ttl, live, pool, lost, replayed, carry, rate,
--         learned}, all strings.

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
local qsucc = tonumber(ARGV[17])
local qthr = tonumber(ARGV[18])
local adaptive = ARGV[19] == '1'
if now == 0 then
  local tm = redis.call('TIME')
  now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])
end

local function idle_expiry(t, r, b) return 4 * t + math.floor(b / r * 1e6) + 1e6 end

local lost = false
local rate, burst, pool, stamp, created, epoch
local L = {learned = 0, succ = 0, thr = 0, base = 0, plateau = 0, armed = 0, win = 0, cut = 0, curve = 0}
local expect, since = 0, 0
local h = redis.call('HMGET', KEYS[1], 'r', 'b', 'p', 't', 'c', 'e', 'l', 's', 'h', 'bb', 'pl', 'a', 'w', 'k', 'cv', 'x', 'rs')
if h[1] then
  rate, burst, pool = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
  stamp, created, epoch = tonumber(h[4]), tonumber(h[5]), h[6]
  L.learned, L.succ, L.thr = tonumber(h[7]) or 0, tonumber(h[8]) or 0, tonumber(h[9]) or 0
  L.base, L.plateau = tonumber(h[10]) or 0, tonumber(h[11]) or 0
  L.armed, L.win, L.cut, L.curve = tonumber(h[12]) or 0, tonumber(h[13]) or 0, tonumber(h[14]) or 0, tonumber(h[15]) or 0
  expect = tonumber(h[16]) or 0
  since = tonumber(h[17]) or created
else
  -- A first request creates the bucket; a process that held a lease proves it was lost.
  redis.call('DEL', KEYS[2])
  lost = qseq > 0 or qepoch ~= ''
  rate, burst, pool, stamp, created, epoch = qrate, qburst, qburst, now, now, int(now)
  since = now
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

-- The rate and burst in force: the learned ones, or the rule's (rate, burst).
local function rate_now()
  if L.learned > 0 then return min(L.learned, rate) end
  return rate
end
local function burst_now()
  if L.learned > 0 then return max(burst * rate_now() / rate, minburst) end
  return burst
end
local function learned_flag()
  if L.learned > 0 then return '1' end
  return '0'
end

local rec = recs[client]
if rec and rec.reqid == reqid then
  return {int(rec.seq), epoch, fmt(rec.share), fmt(rec.burst), fmt(rec.level),
    int(max(rec.expires - now, 0)), int(rec.live), fmt(pool), '0', '1', int(max(rec.carryuntil - now, 0)),
    fmt(rate_now()), learned_flag()}
end

-- The processes a recovering bucket expects and has not heard from (State.unheard, heard).
local keep = 4 * ttl
local function unheard(t, n)
  if t - since >= keep or expect <= n then return 0 end
  return expect - n
end
local function heard(t, skip)
  local n = 0
  for id, r in pairs(recs) do
    if id ~= skip and (r.seen >= since or r.expires > t) then n = n + 1 end
  end
  return n
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
  local r_now, b_now = rate_now(), burst_now()
  local ph = unheard(t, heard(t, nil))
  if ph > 0 then
    held = held + ph * r_now / expect
    bheld = bheld + ph * b_now / expect
  end
  for _, c in ipairs(changes) do
    local r = recs[c.id]
    pool = refill(pool, (r_now - held) * (c.at - t) / 1e6, b_now - bheld)
    t = c.at
    if c.ends then
      held = held - r.share
      bheld = bheld - r.burst
    else
      held = held - (r.carry - r.share)
    end
  end
  pool = refill(pool, (r_now - held) * (now - t) / 1e6, b_now - bheld)
end
rate, burst = qrate, qburst

if qepoch ~= '' and qepoch ~= epoch then
  pool = min(pool, rate_now() * (now - created) / 1e6)
  lost = true
elseif rec and qseq > rec.seq then
  pool = min(pool, 0)
  lost = true
end

if allowance > 0 and now - since >= keep then
  since, expect = now, 0
end
if now - since < keep then expect = max(expect, fleet) end

-- Forget records long past their lease.
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

-- The fleet's learned rate (learn.go, line for line).
local function forget()
  L.learned, L.armed, L.win, L.succ, L.thr = 0, 0, 0, 0, 0
  L.cut, L.base, L.plateau, L.curve = 0, 0, 0, 0
end
local function curve(tau)
  local t = tau
  if L.base < L.plateau then
    if t < 20e6 then
      local x = 1 - t / 20e6
      return L.plateau - (L.plateau - L.base) * x * x * x
    end
    t = t - 20e6
  end
  local x = t / 120e6
  return L.plateau * (1 + x * x * x)
end
local function growth(r, fd)
  if L.learned == 0 then return end
  if fd >= r then
    local nxt = curve(now - L.curve)
    if nxt >= rate then forget()
    elseif nxt > L.learned then L.learned = nxt end
    return
  end
  L.base, L.plateau, L.curve = r, r, now
end
local function learn(fd)
  if not adaptive then forget() return end
  if L.learned == 0 and L.armed == 0 then
    if qthr > 0 then L.armed, L.win, L.succ, L.thr = now, now, 0, 0 end
    return
  end
  local r = rate_now()
  local react = min(max(ttl, math.floor(4 / r * 1e6)), 30e6)
  if now < L.win then
    growth(r, fd)
    return
  end
  L.succ = L.succ + qsucc
  L.thr = L.thr + qthr
  local span = now - L.win
  if span > 10e6 then
    local keep = 5e6
    local f = keep / span
    L.succ = L.succ * f
    L.thr = L.thr * f
    L.win = now - keep
  end
  local window = react
  if L.cut == 0 then window = math.floor(react / 2) end
  if qthr > 0 and now - L.win >= window and (L.cut > 0 or L.thr >= 0.01 * (L.succ + L.thr)) then
    local eff = min(r, fd)
    local share = eff * (L.succ + 1) / (L.succ + L.thr + 1)
    local base = max(share * 0.95, min(1 / 60, rate))
    L.learned, L.base, L.plateau = base, base, base
    L.curve, L.cut, L.win, L.armed = now, now, now + react + math.floor(react / 2), 0
    L.succ, L.thr = 0, 0
    pool = min(pool, 0)
    if L.learned >= rate then forget() end
    return
  end
  growth(r, fd)
end
local fdemand = 0
for _, id in ipairs(claimants) do fdemand = fdemand + recs[id].demand end
if not release then fdemand = fdemand + demand end
learn(fdemand / 1.25)
local rnow, bnow = rate_now(), burst_now()

local held, bheld = 0, 0
for _, id in ipairs(ids) do
  held = held + share_at(recs[id], now)
  bheld = bheld + recs[id].burst
end
local ph = unheard(now, heard(now, client) + 1)
if ph > 0 then
  held = held + ph * rnow / expect
  bheld = bheld + ph * bnow / expect
end

-- Max-min fair share of the rate by demand (fairShares in share.go, line for line).
local function fair_share()
  local claims = {}
  for _, id in ipairs(claimants) do claims[#claims + 1] = {id = id, d = recs[id].demand} end
  if now - since < keep then
    while #claims < fleet - 1 do claims[#claims + 1] = {id = '', d = rnow} end
  end
  claims[#claims + 1] = {id = client, d = demand}
  local n = #claims
  if rnow <= 0 then return 0 end
  table.sort(claims, function(a, b)
    if a.d ~= b.d then return a.d < b.d end
    return a.id < b.id
  end)
  local out = {}
  local left, k = rnow, n
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
  share = max(min(fair_share(), rnow - held), 0)
  if share < rnow * 1e-9 then share = 0 end -- rounding left of a rate the others hold
  if share > 0 then
    lburst = min(max(bnow * share / rnow, minburst), max(bnow - bheld, 0))
    if lburst < minburst then share, lburst = 0, 0 end
  end
end

local level = min(qlevel, lburst)
pool = pool + (qlevel - level + max(overflow, 0))
-- Spending without a lease: the share's part gives the pool back what it counted too (a kept
-- bucket), the excess is paid from the pool or is a debt (State.Apply).
local excess = max(unbacked - allowance, 0)
local within = unbacked - excess
if not lost and within > 0 then
  pool = pool - min(within, max(pool, 0))
end
if excess > 0 then
  local pay = min(excess, max(pool, 0))
  pool = pool - pay
  level = level - (excess - pay)
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
pool = min(pool, bnow - bheld - lburst)

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
  'c', int(created), 'e', epoch, 'l', fmt(L.learned), 's', fmt(L.succ), 'h', fmt(L.thr),
  'bb', fmt(L.base), 'pl', fmt(L.plateau), 'a', int(L.armed), 'w', int(L.win), 'k', int(L.cut),
  'cv', int(L.curve), 'x', int(expect), 'rs', int(since))
local idle = math.ceil(idle_expiry(ttl, rate, burst) / 1000)
redis.call('PEXPIRE', KEYS[1], idle)
redis.call('PEXPIRE', KEYS[2], idle)
local l = '0'
if lost then l = '1' end
return {int(seq), epoch, fmt(share), fmt(lburst), fmt(level), int(expires - now), int(live),
  fmt(pool), l, '0', int(max(carryuntil - now, 0)), fmt(rnow), learned_flag()}
