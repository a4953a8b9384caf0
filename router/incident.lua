-- What the incident scripts share, written once: router/store.py puts it in front of each
-- script (apply_alert.lua, resolve_incident.lua, retrigger.lua, set_severity.lua) before
-- loading it.
--
-- ARGV[1] is the prefix, ARGV[2] one JSON object (one argument packs and parses faster than
-- many) holding at least now: ISO 8601, and retention: seconds a resolved incident is kept.
-- Keys are built here from the prefix, as router/keys.py documents them (one Valkey, not a
-- cluster).

local prefix = ARGV[1]
local a = cjson.decode(ARGV[2])
local now = a.now

local function incident_key(id, suffix) return prefix .. 'incident:' .. id .. suffix end
local INCIDENT_KEYS = {'', ':alerts', ':order', ':timeline'}

-- Heads stored before paging epochs existed have none: they are in the first.
local function epoch_of(head) return head.page_epoch or 0 end

local function announce(id, kind, epoch)
  local event = cjson.encode({incident_id = id, kind = kind, at = now, epoch = epoch})
  redis.call('XADD', prefix .. 'events', '*', 'm', event)
end

local function record_event(id, kind, detail, person)
  redis.call('RPUSH', incident_key(id, ':timeline'),
    cjson.encode({at = now, kind = kind, detail = detail, person = person}))
end

-- Nobody has the incident any more: reopened, or an acknowledgement ran out.
local function unacknowledge(head)
  head.acknowledged_at, head.acknowledged_by, head.snoozed_until = cjson.null, cjson.null, nil
end

-- Resolve an open incident: its group is free for a new incident, and the incident is kept
-- for the retention period from now.
local function close(id, head, detail, person)
  head.status, head.resolved_at = 'resolved', now
  record_event(id, 'resolved', detail, person)
  redis.call('SET', incident_key(id, ''), cjson.encode(head))
  local open_key = prefix .. 'open:' .. head.group_key
  if redis.call('GET', open_key) == id then redis.call('DEL', open_key) end
  announce(id, 'resolved', epoch_of(head))
  for _, suffix in ipairs(INCIDENT_KEYS) do
    redis.call('EXPIRE', incident_key(id, suffix), a.retention)
  end
end
