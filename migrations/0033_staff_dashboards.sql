-- Shared column lists for queries checked at compile time, and indexes for the three
-- portals' home pages (issue 20).

-- A time entry as the trainer and finance read it: why it was added or changed (or
-- the note it came with), and the activity of the shift it came from.
create view time_entry_lines as
select e.id, e.trainer_id, e.week_start, e.started_at, e.ended_at, e.source,
       case when e.reason <> '' then e.reason else e.note end as reason,
       a.name as activity
from time_entries e
left join shifts sh on sh.id = e.shift_id
left join sessions s on s.id = sh.session_id
left join activities a on a.id = s.activity_id;

-- A timesheet with its trainer, who decided it, the rate it pays at (fixed at
-- approval, else the trainer's current rate) and its whole minutes, by the same rule
-- as the app's `minutes_between` (seconds of a check-in are dropped).
create view timesheet_lines as
select t.id, t.trainer_id, u.name as trainer, u.email, t.week_start, t.status, t.submitted_at,
       t.decided_at, d.name as decided_by, t.comment,
       t.changed_after_submit, t.changed_entry_started_at, t.changed_entry_source,
       coalesce(t.hourly_rate_pence, p.hourly_rate_pence) as rate_pence,
       coalesce((select sum(floor(extract(epoch from e.ended_at - e.started_at) / 60))::bigint
                 from time_entries e
                 where e.trainer_id = t.trainer_id and e.week_start = t.week_start), 0)::bigint
           as minutes
from timesheets t
join users u on u.id = t.trainer_id
join trainer_profiles p on p.user_id = t.trainer_id
left join users d on d.id = t.decided_by;

-- /trainer: a trainer's shifts by their start. `lower(during)` is the session's start
-- (shifts_copy_session_times and sessions_move_shifts keep it in step), so offers to
-- come and registers of the last seven days read only the shifts in their window
-- rather than every shift the trainer ever had. It replaces the narrower index on
-- `trainer_id` alone, which it also serves.
drop index shifts_trainer;
create index shifts_trainer_starts on shifts (trainer_id, lower(during));

-- /admin: unfilled shifts are few at any time; finding them read every shift.
create index shifts_open on shifts (session_id) where status = 'open';
