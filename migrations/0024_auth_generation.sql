-- One number that changes whenever something a signed-in request relies on changes: a
-- user's sign-in (active, password, name, email, role), their two-factor sign-in, or the
-- owner's requirement of it. The app remembers users for a few seconds (auth::cache) and
-- reads this number with each session, so a remembered user is never used after such a
-- change commits, whichever process (or hand-written SQL) made it.
create table auth_generation (
    only_row boolean primary key default true check (only_row),
    n bigint not null default 0
);
insert into auth_generation default values;

create function bump_auth_generation() returns trigger language plpgsql as $$
begin
    update auth_generation set n = n + 1;
    return null;
end $$;

create trigger users_bump_auth_generation
    after update of is_active, password_hash, name, email, role, admin_role or delete on users
    for each statement execute function bump_auth_generation();
create trigger two_factor_bump_auth_generation
    after insert or update of enabled_at or delete on two_factor
    for each statement execute function bump_auth_generation();
create trigger security_settings_bump_auth_generation
    after update of require_two_factor_for_admins on security_settings
    for each statement execute function bump_auth_generation();
