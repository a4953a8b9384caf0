-- Resolve an incident by hand, whatever its alerts say (after router/incident.lua).
-- ARGV[2] adds: id: the incident  by: who resolves it
-- Its group gets no reopen window: an alert still firing opens a new incident, since
-- whoever resolved this one said it is over.
-- Returns {'resolved' or 'already_resolved', head JSON}, or {'not_found'}.

local raw = redis.call('GET', incident_key(a.id, ''))
if not raw then return {'not_found'} end
local head = cjson.decode(raw)
if head.status == 'resolved' then return {'already_resolved', raw} end
head.resolved_by = a.by
close(a.id, head, 'resolved by ' .. a.by, a.by)
return {'resolved', cjson.encode(head)}
