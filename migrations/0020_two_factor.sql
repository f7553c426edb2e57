-- Two-factor sign-in (TOTP): each user's secret, encrypted by the app with a key that is
-- not in the database, so a copy of the database alone signs no one in; one-time
-- recovery codes, stored as hashes; and the owner's "required for admins" setting.

create table two_factor (
    user_id             bigint primary key references users (id) on delete cascade,
    -- AES-256-GCM: a 12-byte nonce, then the ciphertext and its tag. The user's id is
    -- the associated data, so a secret copied onto another user's row does not decrypt.
    secret_encrypted    bytea not null,
    -- Null while being set up: the user has not yet typed a code from their app.
    enabled_at          timestamptz,
    -- The last TOTP time step accepted: a code is accepted once only (RFC 6238 5.2).
    last_used_step      bigint not null default 0,
    -- Wrong codes in the current 15-minute window, counted in one UPDATE so that
    -- concurrent guesses cannot all slip under the limit.
    failed_attempts     integer not null default 0,
    failures_since      timestamptz not null default now(),
    created_at          timestamptz not null default now(),
    constraint two_factor_failed_attempts_not_negative check (failed_attempts >= 0)
);

create table two_factor_recovery_codes (
    id                  bigint generated always as identity primary key,
    user_id             bigint not null references users (id) on delete cascade,
    -- SHA-256 of the code: the codes are random (50 bits), so a fast hash is enough.
    code_hash           bytea not null,
    used_at             timestamptz,
    created_at          timestamptz not null default now(),
    constraint two_factor_recovery_codes_unique unique (user_id, code_hash)
);

-- One row: settings the owner changes.
create table security_settings (
    id                              boolean primary key default true,
    require_two_factor_for_admins   boolean not null default false,
    updated_at                      timestamptz not null default now(),
    constraint security_settings_one_row check (id)
);
insert into security_settings (id) values (true);
