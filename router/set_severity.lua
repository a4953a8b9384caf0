-- Set an incident's severity by hand (after router/incident.lua).
-- ARGV[2] adds: id: the incident  severity: SEV1..SEV4  by: who sets it
-- A raise starts a new paging run from level 1, announced as a raise by an alert is: the
-- notifier pages level 1 again, or tells whoever acknowledged it. A lower to SEV4 ends the
-- current run without announcing one, so its timers (escalations, retries, rule steps)
-- page nobody; any other lower is only recorded, and the run goes on at the new severity.
-- Returns {'raised' or 'lowered', head JSON}; {'unchanged' or 'resolved', head JSON} when
-- nothing changed; or {'not_found'}.

local raw = redis.call('GET', incident_key(a.id, ''))
if not raw then return {'not_found'} end
local head = cjson.decode(raw)
if head.status == 'resolved' then return {'resolved', raw} end
local was = head.severity
if a.severity == was then return {'unchanged', raw} end
head.severity = a.severity
local raised = a.severity < was -- SEV1 is the most severe
if raised or a.severity == 'SEV4' then head.page_epoch = epoch_of(head) + 1 end
record_event(a.id, 'severity_changed', was .. ' → ' .. a.severity .. ' by ' .. a.by, a.by)
redis.call('SET', incident_key(a.id, ''), cjson.encode(head), 'KEEPTTL')
if raised then announce(a.id, 'severity_raised', head.page_epoch) end
return {raised and 'raised' or 'lowered', cjson.encode(head)}
