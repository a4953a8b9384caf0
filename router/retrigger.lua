-- An acknowledgement ran out (a snooze ended, or the route's ack_expiry passed) while the
-- incident is open: it waits for someone again, under a new paging run (after
-- router/incident.lua). ARGV[2] adds: id: the incident  acknowledged_at: the acknowledgement
-- that ran out, as the head stores it  detail: why, for the timeline.
-- Someone acknowledging again, resolving or snoozing meanwhile changed acknowledged_at or the
-- status: then this acknowledgement is no longer the incident's and nothing changes.
-- Returns the head JSON, or false.

local raw = redis.call('GET', incident_key(a.id, ''))
if not raw then return false end
local head = cjson.decode(raw)
if head.status ~= 'acknowledged' or head.acknowledged_at ~= a.acknowledged_at then
  return false
end
head.status = 'triggered'
unacknowledge(head)
head.page_epoch = epoch_of(head) + 1
record_event(a.id, 'retriggered', a.detail)
redis.call('SET', incident_key(a.id, ''), cjson.encode(head), 'KEEPTTL')
announce(a.id, 'retriggered', head.page_epoch)
return cjson.encode(head)
