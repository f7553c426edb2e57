//! The family's data download: every table's rows about the family, as JSON and CSV
//! files in one ZIP built in memory (a family's data is small), read from one snapshot.

use std::io::{Cursor, Write};

use crate::web::csv;
use anyhow::Context;
use serde_json::Value;
use sqlx::PgConnection;
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

/// One file pair in the download: `name.json` and `name.csv`, with its columns (SQL
/// select expressions, aliased where not a plain column, which head the CSV).
struct Dataset {
    name: &'static str,
    which: Which,
    columns: &'static [&'static str],
}

/// Lists the datasets, and writes each one's query whole from its columns and the rest
/// of its query (`$1` is the parent's user id), so that every query is one literal,
/// checked at compile time, and the columns are written once for the query and the CSV.
macro_rules! datasets {
    ($($(#[$doc:meta])* $name:ident: [$first:literal $(, $column:literal)* $(,)?] $from:literal;)*) => {
        /// Which dataset: one per file pair.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug)]
        enum Which {
            $($(#[$doc])* $name,)*
        }

        const DATASETS: &[Dataset] = &[
            $(Dataset { name: stringify!($name), which: Which::$name, columns: &[$first $(, $column)*] },)*
        ];

        /// The family's rows of one dataset as a JSON array, in the order of its columns.
        async fn read(conn: &mut PgConnection, which: Which, parent_id: i64) -> sqlx::Result<String> {
            match which {
                $(Which::$name => {
                    sqlx::query_scalar!(
                        r#"select coalesce(json_agg(t), '[]'::json)::text as "rows!" from (select "#
                            + $first $(+ ", " + $column)* + " " + $from + ") t",
                        parent_id
                    )
                    .fetch_one(conn)
                    .await
                })*
            }
        }
    };
}

// What Portico holds about a family. Left out on purpose: safeguarding records and
// incident reports (staff records, exempt where telling could prejudice a child's
// safety), the audit log, and secrets (password hash, calendar token, reset links).
datasets! {
    account: [
        "id", "name", "email", "phone", "role", "is_active", "terms_accepted_at", "last_sign_in_at",
        "created_at", "updated_at"
    ]
    "from users where id = $1";
    children: [
        "id", "first_name", "last_name", "date_of_birth", "medical_notes", "allergies", "additional_needs",
        "doctor_name", "doctor_phone", "photo_consent", "archived_at", "created_at", "updated_at"
    ]
    "from children where parent_id = $1 order by id";
    emergency_contacts: [
        "e.id", "e.child_id", "e.name", "e.relationship", "e.phone", "e.created_at", "e.updated_at"
    ]
    "from child_emergency_contacts e join children c on c.id = e.child_id
       where c.parent_id = $1 order by e.id";
    authorised_collectors: [
        "a.id", "a.child_id", "a.name", "a.relationship", "a.phone", "a.password as collection_password",
        "a.notes", "a.created_at", "a.updated_at"
    ]
    "from child_authorised_collectors a join children c on c.id = a.child_id
       where c.parent_id = $1 order by a.id";
    checklists: ["i.name as item", "i.applies_to", "k.child_id", "k.completed_at"]
    "from checklist_completions k join checklist_items i on i.id = k.item_id
       where k.user_id = $1 or k.child_id in (select id from children where parent_id = $1)
       order by k.id";
    bookings: [
        "b.id", "b.status", "b.total_pence", "b.currency", "b.notes", "b.payment_due_by",
        "d.code as discount_code", "bd.amount_pence as discount_pence", "b.created_at", "b.updated_at"
    ]
    "from bookings b
       left join booking_discounts bd on bd.booking_id = b.id
       left join discount_codes d on d.id = bd.discount_code_id
       where b.parent_id = $1 order by b.id";
    booking_places: [
        "p.id", "p.booking_id", "p.child_id", "a.name as activity", "v.name as venue", "s.starts_at",
        "s.ends_at", "s.status as session_status", "p.price_pence", "p.holds_place", "p.created_at"
    ]
    "from booking_participants p
       join bookings b on b.id = p.booking_id
       join sessions s on s.id = p.session_id
       join activities a on a.id = s.activity_id
       join venues v on v.id = s.venue_id
       where b.parent_id = $1 order by p.id";
    booking_history: [
        "h.booking_id", "h.from_status", "h.to_status", "h.reason", "(h.changed_by = $1) as changed_by_you",
        "h.created_at"
    ]
    "from booking_status_changes h join bookings b on b.id = h.booking_id
       where b.parent_id = $1 order by h.id";
    payments: [
        "p.id as receipt_number", "p.booking_id", "p.amount_pence", "p.refunded_pence", "p.currency",
        "p.method", "p.status", "p.reference", "p.paid_at", "p.created_at"
    ]
    "from payments p join bookings b on b.id = p.booking_id
       where b.parent_id = $1 order by p.id";
    refunds: ["r.id", "r.payment_id", "r.amount_pence", "r.reason", "r.failed_at", "r.created_at"]
    "from refunds r join payments p on p.id = r.payment_id join bookings b on b.id = p.booking_id
       where b.parent_id = $1 order by r.id";
    package_purchases: [
        "pp.id", "k.name as package", "pp.credits", "pp.amount_pence", "pp.refunded_pence", "pp.currency",
        "pp.method", "pp.status", "pp.reference", "pp.paid_at", "pp.created_at"
    ]
    "from package_purchases pp join packages k on k.id = pp.package_id
       where pp.parent_id = $1 order by pp.id";
    package_refunds: [
        "f.id", "f.purchase_id", "f.amount_pence", "f.credits_withdrawn", "f.reason", "f.failed_at",
        "f.created_at"
    ]
    "from package_purchase_refunds f join package_purchases pp on pp.id = f.purchase_id
       where pp.parent_id = $1 order by f.id";
    package_credits: [
        "c.id", "c.purchase_id", "k.name as package", "c.balance", "c.expires_at", "c.created_at"
    ]
    "from package_credits c join packages k on k.id = c.package_id
       where c.parent_id = $1 order by c.id";
    package_credit_movements: [
        "m.id", "m.package_credit_id", "m.change", "m.kind", "m.booking_id", "m.created_at"
    ]
    "from package_credit_movements m join package_credits c on c.id = m.package_credit_id
       where c.parent_id = $1 order by m.id";
    waitlist_entries: [
        "w.id", "w.child_id", "a.name as activity", "s.starts_at", "w.status", "w.offered_at",
        "w.offer_expires_at", "w.booking_id", "w.created_at"
    ]
    "from waitlist_entries w join sessions s on s.id = w.session_id
       join activities a on a.id = s.activity_id
       where w.parent_id = $1 order by w.id";
    attendance: [
        "t.child_id", "a.name as activity", "s.starts_at", "t.status", "t.signed_in_at", "t.signed_out_at",
        "t.collected_by", "t.collector_authorised", "t.collection_note"
    ]
    "from attendance t join sessions s on s.id = t.session_id
       join activities a on a.id = s.activity_id
       where t.child_id in (select id from children where parent_id = $1)
       order by s.starts_at, t.child_id";
    /// Sign-in and reset links are withheld: the download must never sign anyone in.
    emails: [
        "o.id", "o.to_address", "o.subject",
        r"regexp_replace(o.body_text, '\S*/password/reset/\S*', '[link withheld]', 'g') as body",
        "o.status", "o.sent_at", "o.created_at"
    ]
    "from outbox_emails o where o.to_address = (select email from users where id = $1)
       order by o.id";
    /// Whether a calendar link exists, never the token that opens it.
    calendar_feed: ["true as calendar_link_exists", "f.created_at"]
    "from calendar_feeds f where f.user_id = $1";
    assigned_trainer: ["t.name as trainer", "c.assigned_at", "c.ended_at"]
    "from client_assignments c join users t on t.id = c.trainer_id
       where c.parent_id = $1 order by c.id";
    sign_ins: ["a.created_at", "host(a.ip) as ip_address", "a.succeeded"]
    "from sign_in_attempts a where a.email = (select email from users where id = $1)
       order by a.id";
    account_closure_requests: [
        "r.id", "r.status", "r.reason", "r.decision_reason", "r.decided_at", "r.created_at"
    ]
    "from erasure_requests r where r.user_id = $1 order by r.id";
}

const README: &str = "Everything Portico holds about your family.\n\n\
Each table is here twice: as JSON (name.json) and as CSV for a spreadsheet (name.csv).\n\
Amounts are in pence; times are in UTC. Links that sign in or reset a password are\n\
withheld from the copies of our emails. Records kept for children's safety and staff\n\
incident reports are not included; ask the office if you want to know more.\n";

/// The header a select expression gives its column: its alias, or the column's name.
fn header(expression: &str) -> &str {
    let name = expression.rsplit(" as ").next().unwrap_or(expression);
    name.rsplit('.').next().unwrap_or(name).trim()
}

/// A JSON value as one CSV cell.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The family's rows for one dataset as a JSON array, in the order of its columns.
async fn rows(conn: &mut PgConnection, dataset: &Dataset, parent_id: i64) -> anyhow::Result<String> {
    read(conn, dataset.which, parent_id)
        .await
        .with_context(|| format!("Failed to read {} for the download", dataset.name))
}

fn to_csv(dataset: &Dataset, json: &str) -> anyhow::Result<Vec<u8>> {
    let records: Vec<serde_json::Map<String, Value>> = serde_json::from_str(json)?;
    let headers: Vec<&str> = dataset.columns.iter().map(|c| header(c)).collect();
    let rows = records.iter().map(|record| headers.iter().map(|h| csv::cell(&cell(record.get(*h)))));
    csv::file(&headers, rows)
}

/// The ZIP of every dataset about the parent's family, read through `conn` (the
/// caller's REPEATABLE READ transaction, so all files come from one moment).
pub async fn family_zip(conn: &mut PgConnection, parent_id: i64) -> anyhow::Result<Vec<u8>> {
    let mut files = Vec::with_capacity(DATASETS.len() * 2);
    for dataset in DATASETS {
        let json = rows(conn, dataset, parent_id).await?;
        let csv = to_csv(dataset, &json)?;
        // Re-indented so the JSON reads well in a text editor.
        let pretty = serde_json::to_vec_pretty(&serde_json::from_str::<Value>(&json)?)?;
        files.push((format!("{}.json", dataset.name), pretty));
        files.push((format!("{}.csv", dataset.name), csv));
    }
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("README.txt", options)?;
    zip.write_all(README.as_bytes())?;
    for (name, bytes) in files {
        zip.start_file(name, options)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The names of the files in the download (without the README), for the account page.
pub fn dataset_names() -> impl Iterator<Item = &'static str> {
    DATASETS.iter().map(|d| d.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_is_headed_by_its_alias_or_its_name() {
        assert_eq!(header("p.id as receipt_number"), "receipt_number");
        assert_eq!(header("e.phone"), "phone");
        assert_eq!(header("name"), "name");
        assert_eq!(header(r"regexp_replace(o.body_text, '\S*', 'x', 'g') as body"), "body");
    }

    #[test]
    fn every_dataset_names_distinct_columns() {
        for dataset in DATASETS {
            let mut headers: Vec<&str> = dataset.columns.iter().map(|c| header(c)).collect();
            headers.sort_unstable();
            let before = headers.len();
            headers.dedup();
            assert_eq!(before, headers.len(), "{} repeats a column", dataset.name);
        }
    }
}
