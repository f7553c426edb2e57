-- Trust: nothing in the database signs anyone in, throttles that hold under
-- concurrency, sign-up that proves the address, and housekeeping of old rows.

-- Sign-in links are made by the email worker at the moment of sending and go only to
-- the mail server: the outbox keeps the words "[link withheld …]" where the link goes,
-- and what to make the link for.
alter table outbox_emails
    add column link_purpose text,
    add column link_subject_id bigint,
    add column link_url_prefix text,
    -- Who besides the owner may read the message in /admin/outbox: safeguarding
    -- messages are for the safeguarding lead only.
    add column confidential_to text,
    add constraint outbox_emails_link_purpose_known
        check (link_purpose in ('password_reset', 'welcome', 'signup')),
    add constraint outbox_emails_link_complete
        check ((link_purpose is null) = (link_subject_id is null)
               and (link_purpose is null) = (link_url_prefix is null)),
    add constraint outbox_emails_confidential_known check (confidential_to in ('safeguarding_lead'));

-- Links written into the outbox before this migration still work: withhold them.
update outbox_emails
   set body_text = regexp_replace(body_text, '/password/reset/[A-Za-z0-9_-]+',
                                  '/password/reset/[link withheld]', 'g')
 where body_text like '%/password/reset/%';
update outbox_emails set confidential_to = 'safeguarding_lead'
 where subject = 'A safeguarding concern has been raised';

-- Sign-ups wait here until the address is proved by the emailed link; only then is the
-- account made. Several may wait for one address: only the one its owner confirms
-- becomes the account, so nobody can sign up in someone else's name.
create table signup_requests (
    id                  bigint generated always as identity primary key,
    email               text not null,
    name                text not null,
    phone               text,
    password_hash       text not null,
    token_hash          bytea,
    expires_at          timestamptz,
    confirmed_at        timestamptz,
    created_at          timestamptz not null default now(),
    constraint signup_requests_email_lowercase check (email = lower(email)),
    constraint signup_requests_token_hash_key unique (token_hash)
);
create index signup_requests_created on signup_requests (created_at);

-- Sign-in attempts: a row is written before the password is checked (succeeded null
-- while checking), under a lock per address, so concurrent guesses are counted.
alter table sign_in_attempts alter column succeeded drop not null;
create index sign_in_attempts_created on sign_in_attempts (created_at);

-- Requests throttled by count in a window (password reset emails per address and per
-- email); the count and the new row are one step under an advisory lock.
create table request_attempts (
    id                  bigint generated always as identity primary key,
    kind                text not null,
    key                 text not null,
    created_at          timestamptz not null default now()
);
create index request_attempts_recent on request_attempts (kind, key, created_at);
create index request_attempts_created on request_attempts (created_at);
create index password_reset_tokens_expires on password_reset_tokens (expires_at);
