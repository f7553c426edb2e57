-- The office's trainer applications and time-off requests are paged by keyset (see
-- web::page): each of the two lists on those pages (waiting, and decided lately) walks
-- an index on (sort key, id). A trainer's internal notes page the same way, newest first.

-- Applications, oldest first: pending ones by (status, created_at, id), replacing the
-- narrower (status, created_at).
drop index trainer_applications_status;
create index trainer_applications_status_created on trainer_applications (status, created_at, id);

-- Time off sorts by when it starts, so every request has a start and an end (the
-- trainers' form always gives both; an unbounded range would have no place in the list).
alter table time_off_requests add constraint time_off_requests_bounded
    check (not lower_inf(during) and not upper_inf(during));
create index time_off_requests_status_starts on time_off_requests (status, lower(during), id);

create index trainer_notes_trainer_created on trainer_notes (trainer_id, created_at, id);
