-- Apply one alert to the open incident of its group, or open one: the whole change in one
-- atomic call, touching only the incident's head, this alert's record and short lists, so
-- its cost does not grow with the number of alerts the incident holds.
--
-- Written for one alert; router/store.py runs it once per alert of a batch inside one script
-- call (see _APPLY_MANY there), each alert's ARGV as below.
--
-- Runs after router/incident.lua. ARGV[2] holds, besides now and retention:
--   group: group key  dedup: dedup key  firing: true/false  now_ms
--   entry: stream entry id ("" when none)  episode: "" when unknown
--   severity, summary: the alert's  ended_ttl: seconds an ended episode is remembered
--   max_events: alert events in a timeline
--   reopen: seconds a resolved incident is reopened by its group firing again
--   not_shown: alerts the sender's notification left out
--   inhibits: the inhibition groups the alert is a source for (see router/inhibition.py)
--   report: whether the route reports alerts joining its incidents (group_interval)
--   config: the configuration version that routed the alert ("" when unknown)
--   storm: only on a route with a storm_limit, {limit: new incidents a minute, group: the
--     group key of the route's storm incident, name: this alert's group as the storm lists
--     it, listed: how many groups a storm lists}
-- ARGV[3] is the alert's record as first seen and ARGV[4] the incident it would open (without
-- id, times and storm), both JSON, apart so that a repeat, which needs neither, does not pay
-- to parse them.
-- Returns {outcome, incident id, incident head JSON} (head only when it changed).
--
-- Storm control: a new group counts against its route's limit for the minute it arrives in;
-- past the limit it joins the route's open storm incident (opening one if none is open), and
-- its own open key leads there until that incident resolves, so the group's later alerts,
-- resolutions included, go where its first one went.

local gkey, dedup, firing = a.group, a.dedup, a.firing
local now_ms, entry, episode = a.now_ms, a.entry, a.episode
local severity, summary = a.severity, a.summary
local ended_ttl, max_alert_events = a.ended_ttl, a.max_events
local not_shown = a.not_shown
local storm = a.storm
-- Firing alerts sort before resolved ones in the order set: their score gets this on top of
-- their last-seen milliseconds (2^42, past any millisecond timestamp until the year 2109).
local FIRING = 4398046511104

-- The record and the incident this alert starts, seen and opened now.
local function new_record()
  local record = cjson.decode(ARGV[3])
  record.first_seen, record.last_seen = now, now
  return record
end
local function new_head()
  local head = cjson.decode(ARGV[4])
  head.created_at = now
  return head
end

-- Stream entries remembered per alert record: enough for every entry a crashed router's
-- batch can hold of one alert to be known when it is delivered again.
local REMEMBERED = 32

-- Stream ids "ms-seq": whether a is later than b.
local function later(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return true end
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end

-- Keeps the entry among the record's applied ones (ascending, the latest last).
local function remember(record)
  if entry == '' then return end
  local applied = record.applied or {}
  local at = #applied + 1
  while at > 1 and later(applied[at - 1], entry) do at = at - 1 end
  table.insert(applied, at, entry)
  if #applied > REMEMBERED then table.remove(applied, 1) end
  record.applied = applied
  record.last_entry = applied[#applied]
end

-- A redelivered entry: remembered, or older than everything remembered.
local function applied_before(record)
  if entry == '' or not record or not record.applied then return false end
  for _, seen in ipairs(record.applied) do
    if seen == entry then return true end
  end
  return #record.applied >= REMEMBERED and not later(entry, record.applied[1])
end

-- Alert events past the first few are counted, not listed: a storm must not grow the story.
local function alert_event(id, head, kind)
  if head.alert_events < max_alert_events then
    head.alert_events = head.alert_events + 1
    record_event(id, kind, summary)
  else
    head.alert_events_omitted = head.alert_events_omitted + 1
  end
end

local function save(id, head, record, score)
  redis.call('SET', incident_key(id, ''), cjson.encode(head))
  redis.call('HSET', incident_key(id, ':alerts'), dedup, cjson.encode(record))
  redis.call('ZADD', incident_key(id, ':order'), score, dedup)
end

-- While a source alert fires it is a member of each of its inhibition groups.
local function inhibit(firing_now)
  for _, group in ipairs(a.inhibits) do
    redis.call(firing_now and 'SADD' or 'SREM', prefix .. 'inhibit:' .. group, dedup)
  end
end

local ended_key = prefix .. 'ended:' .. dedup
if firing then
  if episode ~= '' and redis.call('GET', ended_key) == episode then return {'stale'} end
elseif episode ~= '' then
  -- Remembered even when nothing is open: with several routers a resolution can overtake
  -- its own firing, which must then not open an incident.
  redis.call('SET', ended_key, episode, 'EX', ended_ttl)
end

local function open_key_of(group) return prefix .. 'open:' .. group end
local open_key = open_key_of(gkey)
local recent_key = prefix .. 'recent:' .. gkey

-- The open incident a group's key leads to, if any. The key of a group a storm took in
-- outlives the storm's incident: a resolved incident is open no more.
local function open_incident(key)
  local found = redis.call('GET', key)
  if not found then return nil end
  local raw = redis.call('GET', incident_key(found, ''))
  if raw then
    local open_head = cjson.decode(raw)
    if open_head.status ~= 'resolved' then return found, open_head end
  end
  redis.call('DEL', key)
  return nil
end

local id, head = open_incident(open_key)
-- The group's incident resolved moments ago: a firing that joins it reopens it (below),
-- rather than paging for the same problem under a new number. The window is measured in
-- alert time, like everything here; the key's expiry only clears it away.
local reopening = false
local recent = not head and firing and redis.call('GET', recent_key)
if recent then
  local recent_id, resolved_ms = string.match(recent, '^(%d+) (%d+)$')
  local raw = redis.call('GET', incident_key(recent_id, ''))
  if raw and now_ms - tonumber(resolved_ms) <= a.reopen * 1000 then
    id, head, reopening = recent_id, cjson.decode(raw), true
  end
end

-- Opens the incident with this alert as its first; `taking_in` adds to it before it is saved.
local function open(new_head, key, taking_in)
  id = tostring(redis.call('INCR', prefix .. 'incident-seq'))
  head = new_head
  head.id = id
  head.alerts_total, head.alerts_firing = 1, 1
  head.alert_events, head.alert_events_omitted = 0, 0
  head.alerts_not_shown = not_shown
  local record = new_record()
  remember(record)
  local routed_by = (a.config or '') == '' and '' or (', config ' .. a.config)
  record_event(id, 'created', 'route ' .. head.route .. routed_by)
  if taking_in then taking_in() end
  alert_event(id, head, 'alert_added')
  save(id, head, record, now_ms + FIRING)
  inhibit(true)
  redis.call('SET', key, id)
  -- Past its window, the group's last incident is no longer the one to reopen.
  if recent then redis.call('DEL', recent_key) end
  redis.call('ZADD', prefix .. 'incidents', now_ms, string.format('%020d', tonumber(id)))
  announce(id, 'opened', 0)
  return {'opened', id, cjson.encode(head)}
end

-- The storm incident takes in this alert's group: counted, listed while the list is short,
-- and the minute's timeline entry says how many new groups the minute has brought so far.
local function take_in(minute_key, groups)
  local taken = head.storm
  taken.groups = taken.groups + 1
  if #taken.listed < storm.listed then table.insert(taken.listed, storm.name) end
  local detail = groups .. ' new groups in a minute over the cap of ' .. storm.limit
  local timeline = incident_key(id, ':timeline')
  local told = redis.call('HGET', minute_key, 'event')
  local told_id, index, since = nil, nil, nil
  if told then told_id, index, since = string.match(told, '^(%d+) (%d+) (.+)$') end
  if told_id == id then
    redis.call('LSET', timeline, tonumber(index),
      cjson.encode({at = since, kind = 'storm', detail = detail}))
  else
    local length = redis.call('RPUSH', timeline,
      cjson.encode({at = now, kind = 'storm', detail = detail}))
    redis.call('HSET', minute_key, 'event', id .. ' ' .. (length - 1) .. ' ' .. now)
  end
  redis.call('SET', open_key, id, 'EX', a.retention)
end

local absorbed = false
if not head then
  if not firing then return {'ignored'} end
  local fresh = new_head()
  if not storm then return open(fresh, open_key) end
  local minute_key = prefix .. 'storm:' .. fresh.route .. ':' .. math.floor(now_ms / 60000)
  local groups = redis.call('HINCRBY', minute_key, 'groups', 1)
  if groups == 1 then redis.call('EXPIRE', minute_key, 120) end
  if groups <= storm.limit then return open(fresh, open_key) end
  local storm_key = open_key_of(storm.group)
  id, head = open_incident(storm_key)
  if not head then
    fresh.title = 'alert storm on ' .. fresh.route
    fresh.group_key, fresh.group_labels = storm.group, {}
    fresh.storm = {limit = storm.limit, groups = 0, listed = {}}
    return open(fresh, storm_key, function() take_in(minute_key, groups) end)
  end
  take_in(minute_key, groups)
  absorbed = true
elseif head.group_key ~= gkey then
  -- A group the storm took in: its way there lasts while the group is heard from.
  redis.call('EXPIRE', open_key, a.retention)
end

-- The sender's latest notification says how many alerts it left out.
local not_shown_changed = head.alerts_not_shown ~= not_shown
head.alerts_not_shown = not_shown
local head_changed = not_shown_changed or absorbed
local order = incident_key(id, ':order')
-- Two routers can apply a group's alerts out of order: last seen never moves backwards.
-- It is kept as the alert's score in the order set, so it is compared without parsing.
local function seen_now(record)
  local score = tonumber(redis.call('ZSCORE', order, dedup)) or 0
  local last = score >= FIRING and score - FIRING or score
  if now_ms > last then
    record.last_seen = now
    return now_ms
  end
  return last
end
local raw = redis.call('HGET', incident_key(id, ':alerts'), dedup)
local record = raw and cjson.decode(raw)
if applied_before(record) then return {'duplicate', id} end
-- Routers sharing the stream can apply one alert's entries out of order. A late entry is
-- older news: a repeat still counts, but it never turns back the alert's state.
if record and entry ~= '' and record.last_entry and not later(entry, record.last_entry) then
  remember(record)
  local outcome = 'stale'
  if firing and record.status == 'firing' then
    record.count = record.count + 1
    outcome = 'repeated'
  end
  redis.call('HSET', incident_key(id, ':alerts'), dedup, cjson.encode(record))
  if head_changed then redis.call('SET', incident_key(id, ''), cjson.encode(head)) end
  return {outcome, id}
end

if firing then
  if record and record.status == 'firing' then
    record.count = record.count + 1
    remember(record)
    redis.call('ZADD', order, seen_now(record) + FIRING, dedup)
    redis.call('HSET', incident_key(id, ':alerts'), dedup, cjson.encode(record))
    if head_changed then redis.call('SET', incident_key(id, ''), cjson.encode(head)) end
    inhibit(true)
    return {'repeated', id}
  end
  local last = now_ms
  if record then
    record.status, record.resolved_at = 'firing', cjson.null
    record.count = record.count + 1
    last = seen_now(record)
  else
    record = new_record()
    head.alerts_total = head.alerts_total + 1
  end
  remember(record)
  head.alerts_firing = head.alerts_firing + 1
  -- Reopening and a raise each page again from level 1 under a new epoch: one alert doing
  -- both starts one new paging run, announced as the reopening.
  local restart = nil
  if reopening then
    restart = 'reopened'
    head.status, head.resolved_at = 'triggered', cjson.null
    unacknowledge(head)
    redis.call('SET', open_key, id)
    redis.call('DEL', recent_key)
    record_event(id, 'reopened', 'fired again: ' .. summary)
  end
  local was = head.severity
  if severity < was then -- SEV1 is the most severe
    head.severity = severity
    restart = restart or 'severity_raised'
    record_event(id, 'severity_raised',
      'severity raised from ' .. was .. ' to ' .. severity .. ' by ' .. summary)
  end
  if restart then head.page_epoch = epoch_of(head) + 1 end
  alert_event(id, head, 'alert_added')
  if a.report then
    -- Counted on the head; announced only when no report is due yet.
    head.alerts_unreported = (head.alerts_unreported or 0) + 1
    if not head.report_pending then
      head.report_pending = true
      announce(id, 'alerts_added')
    end
  end
  save(id, head, record, last + FIRING)
  if reopening then
    for _, suffix in ipairs(INCIDENT_KEYS) do redis.call('PERSIST', incident_key(id, suffix)) end
  end
  inhibit(true)
  if restart then announce(id, restart, head.page_epoch) end
  return {reopening and 'reopened' or 'joined', id, cjson.encode(head)}
end

local function resolve_incident()
  close(id, head, 'all alerts resolved')
  -- The group whose alert resolved it, if a storm took it in (close frees the incident's own).
  if redis.call('GET', open_key) == id then redis.call('DEL', open_key) end
  redis.call('SET', recent_key, id .. ' ' .. now_ms, 'EX', a.reopen)
  return {'incident_resolved', id, cjson.encode(head)}
end

-- Unseen alerts of a truncated notification may still fire: no all-clear on the seen ones.
local all_clear = head.alerts_not_shown == 0

if not record or record.status ~= 'firing' then
  -- A resolution already known; but the notification may be the first to show everything.
  if not not_shown_changed then return {'ignored'} end
  if head.alerts_firing == 0 and all_clear then return resolve_incident() end
  redis.call('SET', incident_key(id, ''), cjson.encode(head))
  return {'ignored', id}
end
record.status, record.resolved_at, record.last_seen = 'resolved', now, now
remember(record)
inhibit(false)
head.alerts_firing = head.alerts_firing - 1
alert_event(id, head, 'alert_resolved')
save(id, head, record, now_ms)
if head.alerts_firing > 0 or not all_clear then
  return {'alert_resolved', id, cjson.encode(head)}
end
return resolve_incident()
