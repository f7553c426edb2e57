-- The every-minute sweeps (waitlist offers, payment holds, reminders) run once per minute
-- across all app processes: the process whose insert makes the minute's row runs them;
-- the others find the row there and skip. Rows older than a day are deleted as new
-- ones come.
create table sweep_ticks (
    minute      timestamptz primary key,
    claimed_at  timestamptz not null default now()
);
