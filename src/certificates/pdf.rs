//! A certificate as a one-page PDF (A4 landscape), written in-process with
//! `pdf-writer`. The standard Helvetica needs no embedded font; text is WinAnsi, so a
//! character outside it prints as `?` rather than breaking the file.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

/// What the PDF shows.
pub struct Printed<'a> {
    pub provider: &'a str,
    pub learner: &'a str,
    pub course: &'a str,
    pub course_date: String,
    pub expires_on: String,
    pub trainer: &'a str,
    pub number: &'a str,
    pub verify_url: String,
    pub revoked: bool,
}

const WIDTH: f32 = 842.0;
const HEIGHT: f32 = 595.0;
const LEFT: f32 = 90.0;

/// Text in the WinAnsi encoding the standard fonts use.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u8,
            '–' => 0x96,
            '—' => 0x97,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '€' => 0x80,
            _ => b'?',
        })
        .collect()
}

fn line(content: &mut Content, font: &[u8], size: f32, y: f32, text: &str) {
    let bytes = win_ansi(text);
    content.begin_text();
    content.set_font(Name(font), size);
    content.next_line(LEFT, y);
    content.show(Str(&bytes));
    content.end_text();
}

pub fn render(c: &Printed<'_>) -> Vec<u8> {
    let (catalog, tree, page, regular, bold, body) =
        (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5), Ref::new(6));
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.parent(tree).media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT)).contents(body);
    p.resources().fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold);
    p.finish();
    pdf.type1_font(regular).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));

    let mut content = Content::new();
    content.set_stroke_rgb(0.1, 0.3, 0.5).set_line_width(3.0);
    content.rect(30.0, 30.0, WIDTH - 60.0, HEIGHT - 60.0).stroke();
    content.set_line_width(1.0);
    content.rect(40.0, 40.0, WIDTH - 80.0, HEIGHT - 80.0).stroke();
    line(&mut content, b"F2", 16.0, 500.0, c.provider);
    line(&mut content, b"F2", 30.0, 450.0, "Certificate of achievement");
    line(&mut content, b"F1", 14.0, 410.0, "This certifies that");
    line(&mut content, b"F2", 26.0, 375.0, c.learner);
    line(&mut content, b"F1", 14.0, 340.0, "has successfully completed");
    line(&mut content, b"F2", 20.0, 310.0, c.course);
    line(&mut content, b"F1", 13.0, 260.0, &format!("Course date: {}", c.course_date));
    line(&mut content, b"F1", 13.0, 240.0, &format!("Valid until: {}", c.expires_on));
    line(&mut content, b"F1", 13.0, 220.0, &format!("Trainer: {}", c.trainer));
    line(&mut content, b"F2", 13.0, 190.0, &format!("Certificate number: {}", c.number));
    line(&mut content, b"F1", 10.0, 90.0, &format!("Check this certificate at {}", c.verify_url));
    if c.revoked {
        content.set_fill_rgb(0.7, 0.1, 0.1);
        line(&mut content, b"F2", 22.0, 140.0, "REVOKED: this certificate is no longer valid");
    }
    let bytes = content.finish();
    pdf.stream(body, &bytes);
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pdf_is_a_pdf_with_the_learner_and_number_and_no_broken_characters() {
        let pdf = render(&Printed {
            provider: "Portico Training",
            learner: "Zoë Łukasz",
            course: "First Aid at Work – 3 days",
            course_date: "7 December 2026".into(),
            expires_on: "7 December 2029".into(),
            trainer: "Sam Trainer",
            number: "FA-7K3M-9QPX-4TRW",
            verify_url: "https://example.test/certificates/verify".into(),
            revoked: false,
        });
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("FA-7K3M-9QPX-4TRW"));
        assert!(win_ansi("Zoë Łukasz").starts_with(b"Zo\xeb ?"));
    }
}
