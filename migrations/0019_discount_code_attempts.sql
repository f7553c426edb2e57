-- Discount-code guesses, counted per family so codes cannot be guessed without limit.
-- One row per family: a window of an hour from its first guess, the guesses made in
-- it and how many of them were codes that worked. A guess is counted and checked
-- against the limit in one upsert (the row lock queues concurrent guesses), so
-- thirty guesses at once are all counted and only the first few are tried.
create table discount_code_attempts (
    parent_id         bigint primary key references users (id) on delete cascade,
    window_started_at timestamptz not null default now(),
    attempts          integer not null default 0,
    successes         integer not null default 0,
    constraint discount_code_attempts_counts_sane check (attempts >= 0 and successes >= 0)
);
