//! The use cases of two-factor sign-in, one per user action, with their rules: enrol
//! (a new secret), confirm it (which turns it on and makes the recovery codes), verify
//! a code at sign-in, turn it off, and the owner's setting. Each takes typed input and
//! returns the outcome or a typed refusal; the pages only parse, call and render.

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use totp_rs::{Builder, Totp};

use super::{key::TwoFactorKey, store};
use crate::{
    audit,
    auth::{Role, User, password::Passwords},
};

/// Wrong codes (or passwords, when turning it off) allowed per account per window.
const MAX_FAILURES: i32 = 5;
const FAILURE_WINDOW: &str = "15 minutes";
const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "Portico";

// ---------------------------------------------------------------------------------
// Codes.

pub(super) fn totp_for(secret: Vec<u8>, account: &str) -> anyhow::Result<Totp> {
    // A colon would split the label in the otpauth URL.
    let account = account.replace(':', " ");
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| anyhow::anyhow!("Failed to build a TOTP: {e:?}"))
}

/// What the user typed: six digits from the app, or a recovery code.
pub enum Code {
    Totp(String),
    Recovery(String),
}

impl Code {
    pub fn parse(input: &str) -> Option<Code> {
        let compact: String =
            input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_lowercase();
        if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
            Some(Code::Totp(compact))
        } else if compact.len() == 10 && compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Some(Code::Recovery(compact))
        } else {
            None
        }
    }
}

/// Ten random characters from an alphabet without look-alikes (50 bits each),
/// shown as `abcde-fghjk`.
fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut code = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            code.push('-');
        }
        let index = rand::random_range(0..ALPHABET.len());
        code.push(char::from(ALPHABET[index]));
    }
    code
}

fn recovery_hash(compact: &str) -> Vec<u8> {
    Sha256::digest(compact.as_bytes()).to_vec()
}

/// Why a code was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Wrong,
    Replayed,
    /// The stored secret does not open with this server's key.
    Unreadable,
}

/// Checks `code` against the user's enabled (or, with `setting_up`, pending) secret,
/// spending the time step or the recovery code in `conn`'s transaction.
async fn verify(
    conn: &mut PgConnection,
    key: Option<&TwoFactorKey>,
    user: &User,
    code: &Code,
    setting_up: bool,
) -> anyhow::Result<Result<(), Refusal>> {
    let Some(row) = store::find(conn, user.id.0).await? else { return Ok(Err(Refusal::Wrong)) };
    if row.enabled_at.is_some() == setting_up {
        return Ok(Err(Refusal::Wrong));
    }
    match code {
        Code::Totp(digits) => {
            let Some(secret) = key.and_then(|k| k.open(user.id.0, &row.secret_encrypted)) else {
                tracing::error!(user.id = user.id.0, "a two-factor secret cannot be decrypted with this key");
                return Ok(Err(Refusal::Unreadable));
            };
            let Some(step) = totp_for(secret, &user.email)?.check_current(digits) else {
                return Ok(Err(Refusal::Wrong));
            };
            if !store::use_step(conn, user.id.0, step).await? {
                return Ok(Err(Refusal::Replayed));
            }
            Ok(Ok(()))
        }
        Code::Recovery(compact) if !setting_up => {
            if store::spend_recovery_code(conn, user.id.0, &recovery_hash(compact)).await? {
                audit::record(conn)
                    .by(user.id)
                    .action("two_factor.recovery_code_used")
                    .entity("user", user.id)
                    .await?;
                Ok(Ok(()))
            } else {
                Ok(Err(Refusal::Wrong))
            }
        }
        Code::Recovery(_) => Ok(Err(Refusal::Wrong)),
    }
}

/// Counts one attempt against the account and says whether it may be checked. It is
/// committed on its own, so a refused code still counts.
async fn take_attempt(pool: &PgPool, user_id: i64) -> sqlx::Result<bool> {
    let count = store::count_attempt(pool, user_id, FAILURE_WINDOW).await?;
    Ok(count.is_some_and(|n| n <= MAX_FAILURES))
}

// ---------------------------------------------------------------------------------
// Where the user stands.

/// The user's two-factor sign-in as their account page shows it.
pub struct Status {
    pub enabled: bool,
    /// The secret being set up (not yet confirmed), opened with the server's key.
    pub pending_secret: Option<Vec<u8>>,
    pub recovery_codes_left: i64,
    /// The owner's setting.
    pub required: bool,
}

pub async fn status(
    conn: &mut PgConnection,
    key: Option<&TwoFactorKey>,
    user: &User,
) -> sqlx::Result<Status> {
    let row = store::find(conn, user.id.0).await?;
    let required = store::required_for_admins(conn).await?;
    let enabled = row.as_ref().is_some_and(|r| r.enabled_at.is_some());
    let pending_secret = match (&row, key) {
        (Some(row), Some(key)) if row.enabled_at.is_none() => key.open(user.id.0, &row.secret_encrypted),
        _ => None,
    };
    let recovery_codes_left = if enabled { store::recovery_codes_left(conn, user.id.0).await? } else { 0 };
    Ok(Status { enabled, pending_secret, recovery_codes_left, required })
}

// ---------------------------------------------------------------------------------
// Setting it up.

/// Makes a new secret, kept (encrypted) until the user proves their app has it.
pub async fn enrol(pool: &PgPool, key: &TwoFactorKey, user_id: i64) -> anyhow::Result<()> {
    let secret: [u8; 20] = rand::random();
    let sealed = key.seal(user_id, &secret)?;
    store::save_pending_secret(pool, user_id, &sealed).await?;
    Ok(())
}

/// The first code from the user's app turns their secret on; returns the recovery
/// codes, to be shown once, now (only their hashes are kept).
pub async fn confirm(
    pool: &PgPool,
    key: Option<&TwoFactorKey>,
    user: &User,
    code: &Code,
) -> anyhow::Result<Result<Vec<String>, Refusal>> {
    let mut tx = pool.begin().await?;
    if let Err(refusal) = verify(&mut tx, key, user, code, true).await? {
        return Ok(Err(refusal));
    }
    store::enable(&mut tx, user.id.0).await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|code| recovery_hash(&code.replace('-', ""))).collect();
    store::replace_recovery_codes(&mut tx, user.id.0, &hashes).await?;
    audit::record(&mut tx).by(user.id).action("two_factor.enabled").entity("user", user.id).await?;
    tx.commit().await?;
    Ok(Ok(codes))
}

// ---------------------------------------------------------------------------------
// Sign-in, step two.

/// Why the second sign-in step refused a code.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInRefusal {
    TooManyAttempts,
    Code(Refusal),
}

/// Checks the code of a user whose password was right; on success the sign-in is
/// recorded and the caller signs them in.
pub async fn sign_in(
    pool: &PgPool,
    key: Option<&TwoFactorKey>,
    user: &User,
    code: &Code,
) -> anyhow::Result<Result<(), SignInRefusal>> {
    if !take_attempt(pool, user.id.0).await? {
        return Ok(Err(SignInRefusal::TooManyAttempts));
    }
    let mut tx = pool.begin().await?;
    if let Err(refusal) = verify(&mut tx, key, user, code, false).await? {
        return Ok(Err(SignInRefusal::Code(refusal)));
    }
    store::clear_attempts(&mut tx, user.id.0).await?;
    store::mark_signed_in(&mut tx, user.id.0).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

// ---------------------------------------------------------------------------------
// Turning it off.

/// What proves the user wants it off: their password, or a current code.
pub enum Proof {
    Password(String),
    Code(Code),
}

/// Why two-factor sign-in stays on.
#[derive(Debug, PartialEq, Eq)]
pub enum TurnOffRefusal {
    NotEnabled,
    /// The owner requires it for every admin.
    RequiredByOwner,
    /// Neither a password nor a code was given.
    NoProof,
    TooManyAttempts,
    /// The password or code does not match.
    NoMatch,
}

/// Turning it off needs the password or a current code, so a session left open on a
/// shared computer cannot quietly remove the second factor.
pub async fn turn_off(
    pool: &PgPool,
    passwords: &Passwords,
    key: Option<&TwoFactorKey>,
    user: &User,
    proof: Option<Proof>,
) -> anyhow::Result<Result<(), TurnOffRefusal>> {
    if let Err(refusal) = may_turn_off(&mut *pool.acquire().await?, user).await? {
        return Ok(Err(refusal));
    }
    let Some(proof) = proof else { return Ok(Err(TurnOffRefusal::NoProof)) };
    // Wrong passwords here count with wrong codes: this form must not become a way
    // round the sign-in throttle.
    if !take_attempt(pool, user.id.0).await? {
        return Ok(Err(TurnOffRefusal::TooManyAttempts));
    }
    let mut tx = pool.begin().await?;
    let proved = match &proof {
        Proof::Password(password) => passwords.verify(password, Some(&user.password_hash)).await?,
        Proof::Code(code) => verify(&mut tx, key, user, code, false).await?.is_ok(),
    };
    if !proved {
        return Ok(Err(TurnOffRefusal::NoMatch));
    }
    store::delete(&mut tx, user.id.0).await?;
    audit::record(&mut tx).by(user.id).action("two_factor.disabled").entity("user", user.id).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// It must be on, and admins keep it while the owner requires it.
async fn may_turn_off(conn: &mut PgConnection, user: &User) -> sqlx::Result<Result<(), TurnOffRefusal>> {
    let enabled = store::find(conn, user.id.0).await?.is_some_and(|r| r.enabled_at.is_some());
    if !enabled {
        return Ok(Err(TurnOffRefusal::NotEnabled));
    }
    if user.role == Role::Admin && store::required_for_admins(conn).await? {
        return Ok(Err(TurnOffRefusal::RequiredByOwner));
    }
    Ok(Ok(()))
}

// ---------------------------------------------------------------------------------
// The owner's setting.

/// Why the owner's setting was not changed.
#[derive(Debug, PartialEq, Eq)]
pub enum RequiredRefusal {
    /// The owner must use two-factor themselves first, or turning it on would send
    /// them straight to set it up.
    OwnerWithout,
}

/// The owner's setting that every admin must use two-factor sign-in (the caller has
/// checked `owner` is the owner).
pub async fn require_for_admins(
    pool: &PgPool,
    owner: &User,
    required: bool,
) -> anyhow::Result<Result<(), RequiredRefusal>> {
    if required && !store::is_enabled(pool, owner.id.0).await? {
        return Ok(Err(RequiredRefusal::OwnerWithout));
    }
    let mut tx = pool.begin().await?;
    let before = store::required_for_admins(&mut tx).await?;
    store::set_required_for_admins(&mut tx, required).await?;
    audit::record(&mut tx)
        .by(owner.id)
        .action("settings.two_factor_required")
        .about("security_settings")
        .before(json!({ "require_two_factor_for_admins": before }))
        .after(json!({ "require_two_factor_for_admins": required }))
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_told_apart_by_shape() {
        assert!(matches!(Code::parse(" 123 456 "), Some(Code::Totp(c)) if c == "123456"));
        assert!(matches!(Code::parse("ABCDE-FGHJK"), Some(Code::Recovery(c)) if c == "abcdefghjk"));
        assert!(Code::parse("12345").is_none());
        assert!(Code::parse("\0\0\0\0\0\0").is_none());
        let code = new_recovery_code();
        assert!(matches!(Code::parse(&code), Some(Code::Recovery(_))), "{code}");
    }
}
