//! CSV downloads that are safe to open in a spreadsheet, whole or streamed.

use axum::{
    body::{Body, Bytes},
    http::header,
    response::{IntoResponse, Response},
};
use time::{OffsetDateTime, macros::format_description};
use time_tz::{OffsetDateTimeExt, Tz};
use tokio::sync::mpsc;

/// A streamed CSV is sent in chunks of about this many bytes.
const CHUNK: usize = 32 * 1024;

/// Neutralises a cell a spreadsheet would run as a formula (CSV injection): a
/// leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'` in front.
pub fn cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

/// The UTF-8 byte-order mark every CSV starts with: without it Excel on Windows reads
/// the file in the local code page, and "5–8s" comes out as "5â€“8s".
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV writer whose output starts with the [`BOM`] and `header`.
fn begin(header: &[&str]) -> anyhow::Result<csv::Writer<Vec<u8>>> {
    let mut writer = csv::Writer::from_writer(BOM.to_vec());
    writer.write_record(header)?;
    Ok(writer)
}

/// A whole CSV file (BOM, `header`, `rows`), for files that are not downloads of their
/// own, such as those inside a ZIP.
pub fn file<R, T>(header: &[&str], rows: impl IntoIterator<Item = R>) -> anyhow::Result<Vec<u8>>
where
    R: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut writer = begin(header)?;
    for row in rows {
        writer.write_record(row)?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("Failed to finish the CSV: {e}"))
}

/// An instant as ISO 8601 in the provider's zone with its offset
/// ("2026-06-12T10:00:00+01:00", never "Z"): a spreadsheet reads it as a date and time, with the
/// year, and the offset keeps it exact across the clock change.
pub fn date_time(at: OffsetDateTime, tz: &Tz) -> String {
    at.to_timezone(tz)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
        ))
        .unwrap_or_default()
}

/// Writes `header` and `rows` (already neutralised with `cell` where user-typed) as a
/// CSV attachment named `filename`.
pub fn download(filename: &str, header: &[&str], rows: Vec<Vec<String>>) -> anyhow::Result<Response> {
    let body = file(header, rows)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        body,
    )
        .into_response())
}

/// The records of a streamed CSV (see [`stream`]): each `record` is written into a
/// buffer that goes to the client every [`CHUNK`] bytes.
pub struct Sink {
    writer: csv::Writer<Vec<u8>>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Sink {
    /// Writes one record (user-typed cells already neutralised with [`cell`]); waits
    /// while the client is behind, and fails once the client has gone, which stops
    /// the producer (and its database read).
    pub async fn record<I, T>(&mut self, record: I) -> anyhow::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.writer.write_record(record)?;
        if self.writer.get_ref().len() >= CHUNK {
            self.send().await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> anyhow::Result<()> {
        let full =
            std::mem::replace(&mut self.writer, csv::Writer::from_writer(Vec::with_capacity(CHUNK * 2)));
        let chunk = full.into_inner().map_err(|e| anyhow::anyhow!("Failed to finish a CSV chunk: {e}"))?;
        if !chunk.is_empty() {
            self.tx
                .send(Ok(Bytes::from(chunk)))
                .await
                .map_err(|_| anyhow::anyhow!("the client went away"))?;
        }
        Ok(())
    }
}

/// A CSV attachment written while it is downloaded: `produce` runs in its own task
/// writing records into the [`Sink`] (after `header`) and hands it back when done. At
/// most a few chunks wait in memory however long the file, so an export of every
/// booking costs what one of fifty does. Should `produce` fail, the download is cut
/// off (not finished cleanly), so nobody mistakes a partial file for the whole one.
pub fn stream<F, Fut>(filename: &str, header: &[&str], produce: F) -> anyhow::Result<Response>
where
    F: FnOnce(Sink) -> Fut,
    Fut: Future<Output = anyhow::Result<Sink>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(4);
    let failed = tx.clone();
    let writer = begin(header)?;
    let work = produce(Sink { writer, tx });
    tokio::spawn(async move {
        let finished = match work.await {
            Ok(mut sink) => sink.send().await,
            Err(e) => Err(e),
        };
        if let Err(e) = finished {
            tracing::warn!(error = %e, "CSV export stopped");
            let _ = failed.send(Err(std::io::Error::other("the export stopped"))).await;
        }
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let body = Body::from_stream(chunks);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        body,
    )
        .into_response())
}

/// Pence as a plain decimal for spreadsheets: 650 → "6.50".
pub fn decimal_pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let pence = pence.unsigned_abs();
    format!("{sign}{}.{:02}", pence / 100, pence % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_plain_text_is_kept() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+44 7700"), "'+44 7700");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("Maya Morgan"), "Maya Morgan");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn files_start_with_the_byte_order_mark_once() {
        let bytes = file(&["Activity"], [["Football 5–8s"]]).unwrap();
        assert!(bytes.starts_with(BOM));
        assert_eq!(&bytes[BOM.len()..], "Activity\nFootball 5–8s\n".as_bytes());
    }

    #[test]
    fn date_times_are_iso_8601_in_the_providers_zone_with_the_offset() {
        use time::macros::datetime;
        let london = time_tz::timezones::db::europe::LONDON;
        assert_eq!(date_time(datetime!(2026-07-04 09:00:00.5 UTC), london), "2026-07-04T10:00:00+01:00");
        assert_eq!(date_time(datetime!(2026-11-28 10:00 UTC), london), "2026-11-28T10:00:00+00:00");
    }

    #[test]
    fn pounds_are_exact_decimals() {
        assert_eq!(decimal_pounds(650), "6.50");
        assert_eq!(decimal_pounds(-5), "-0.05");
    }
}
