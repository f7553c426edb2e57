//! Rebuild when a migration is added or changed: `sqlx::migrate!` embeds them.
//!
//! Static files are embedded in the binary under names carrying a hash of their content
//! (`app.3f9a1c2e.css`), so browsers may keep them for a year: a changed file has a new
//! name. This writes the table `web::assets` serves from into `OUT_DIR/assets.rs`.

use std::{env, fmt::Write as _, fs, path::Path};

/// (file under static/, constant naming its URL, content type)
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "APP_CSS", "text/css; charset=utf-8"),
    ("checkin.js", "CHECKIN_JS", "text/javascript; charset=utf-8"),
];

/// FNV-1a, 64 bits: enough to tell versions of a file apart, and no build dependency.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=static");
    let root = env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let mut out = String::new();
    let mut table = String::from("pub const FILES: &[Asset] = &[\n");
    for (file, constant, content_type) in ASSETS {
        let path = Path::new(&root).join("static").join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let (stem, ext) = file.rsplit_once('.').expect("a file name with an extension");
        let hashed = format!("{stem}.{:08x}.{ext}", fnv1a(&bytes) >> 32);
        writeln!(out, "/// `static/{file}` under its content-hashed name.").unwrap();
        writeln!(out, "pub const {constant}: &str = \"/static/{hashed}\";").unwrap();
        writeln!(
            table,
            "    Asset {{ plain: {file:?}, hashed: {hashed:?}, content_type: {content_type:?}, \
             body: include_bytes!({:?}) }},",
            path.display().to_string()
        )
        .unwrap();
    }
    table.push_str("];\n");
    out.push_str(&table);
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("assets.rs");
    fs::write(dest, out).expect("write assets.rs");
}
