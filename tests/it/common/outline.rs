//! The heading outline of a page, checked as the Nu HTML checker reads it: headings go
//! down one level at a time (no h1 → h3), the first is the h1, and every `<section>`
//! and `<article>` has a heading of its own. A small tag scanner, enough for the
//! server's own markup: comments, scripts and quoted attributes are skipped over.

/// What is wrong with the outline of `html`; empty when nothing is.
pub fn problems(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut last_level = 0;
    // Open sectioning elements: their name and whether a heading was seen in them.
    let mut sections: Vec<(String, bool)> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let (closing, name_at) = if rest.starts_with("</") { (true, 2) } else { (false, 1) };
        let name: String = rest[name_at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let end = tag_end(rest);
        rest = &rest[end..];
        if name.is_empty() {
            continue;
        }
        if !closing && (name == "script" || name == "style") {
            let close = format!("</{name}");
            rest = rest.to_ascii_lowercase().find(&close).map_or("", |at| &rest[at..]);
            continue;
        }
        match (closing, name.as_str()) {
            (false, "section" | "article") => sections.push((name, false)),
            (true, "section" | "article") => {
                if let Some((kind, false)) = sections.pop() {
                    found.push(format!("a <{kind}> without a heading"));
                }
            }
            (false, h) if is_heading(h) => {
                let level = h.as_bytes()[1] - b'0';
                if level > last_level + 1 {
                    let from = if last_level == 0 { "the top".to_owned() } else { format!("h{last_level}") };
                    found.push(format!("{from} → h{level}: a heading level skipped"));
                }
                last_level = level;
                if let Some(open) = sections.last_mut() {
                    open.1 = true;
                }
            }
            _ => {}
        }
    }
    found
}

fn is_heading(name: &str) -> bool {
    name.len() == 2 && name.starts_with('h') && (b'1'..=b'6').contains(&name.as_bytes()[1])
}

/// Where the tag at the start of `rest` ends (after its `>`), quotes respected.
fn tag_end(rest: &str) -> usize {
    let mut quote = None;
    for (i, c) in rest.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    rest.len()
}

/// Panics, naming the page and what is wrong, if the outline of `html` has problems.
pub fn assert_outline(path: &str, html: &str) {
    let found = problems(html);
    assert!(found.is_empty(), "the headings of {path} are out of order: {}", found.join("; "));
}

#[test]
fn the_outline_checker_finds_skipped_levels_and_sections_without_headings() {
    assert!(problems("<h1>A</h1><section><h2>B</h2><h3>C</h3></section><h2>D</h2>").is_empty());
    assert_eq!(problems("<h1>Open shifts</h1><article><h3>Football</h3></article>").len(), 1);
    assert_eq!(
        problems("<h1>A</h1><section class=\"card\"><p>x</p></section>"),
        ["a <section> without a heading"]
    );
    assert_eq!(problems("<h2>No h1</h2>"), ["the top → h2: a heading level skipped"]);
    assert!(problems("<h1 title='a > b'>A</h1><!-- <h4> --><script>let s = '<h5>';</script>").is_empty());
}
