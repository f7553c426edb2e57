-- Indexes for the pages of the admin calendar and of safeguarding concerns (web::page):
-- each page walks an index on (sort key, id) from its cursor and stops at 51 rows.

-- /admin/sessions?view=day, by start time; the calendar's day and week ranges use it too,
-- so it replaces the index on the start time alone.
drop index sessions_starts_at;
create index sessions_starts_at on sessions (starts_at, id);

-- /admin/safeguarding, newest first.
create index safeguarding_concerns_created on safeguarding_concerns (created_at, id);

-- Each concern's follow-ups: counted on the list, read in order on the concern.
create index safeguarding_actions_concern on safeguarding_actions (concern_id, created_at, id);
