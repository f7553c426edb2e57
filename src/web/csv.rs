//! CSV downloads that are safe to open in a spreadsheet.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

/// Neutralises a cell a spreadsheet would run as a formula (CSV injection): a
/// leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'` in front.
pub fn cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

/// Writes `header` and `rows` (already neutralised with `cell` where user-typed) as a
/// CSV attachment named `filename`.
pub fn download(filename: &str, header: &[&str], rows: Vec<Vec<String>>) -> anyhow::Result<Response> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(&row)?;
    }
    let body = writer.into_inner().map_err(|e| anyhow::anyhow!("Failed to finish the CSV: {e}"))?;
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
    fn pounds_are_exact_decimals() {
        assert_eq!(decimal_pounds(650), "6.50");
        assert_eq!(decimal_pounds(-5), "-0.05");
    }
}
