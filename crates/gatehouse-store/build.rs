//! Packs the provider catalog carried in the project's `data/` folder (every AWS managed
//! policy, the recovered versions of the Amazon Q policies and of the history sample, and the
//! seed page's update table) into one file that the crate
//! embeds, so the catalog ships inside the `gatehouse` binary.
//!
//! The output is a list of lines, `FILE<TAB>CONTENT-LENGTH` headers followed by the content, so
//! the crate needs no second JSON pass to find the files: index.json, history.json, and every
//! file they name.

use std::fmt::Write as _;
use std::path::Path;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let dirs = [
        "aws-managed-policies",
        "managed-policy-history",
        "history-sample",
        "seed",
    ];
    for dir in dirs {
        println!("cargo::rerun-if-changed={}", data.join(dir).display());
    }
    let mut out = String::new();
    for dir in dirs {
        let mut stack = vec![dir.to_string()];
        while let Some(d) = stack.pop() {
            let mut entries: Vec<String> = Vec::new();
            for e in std::fs::read_dir(data.join(&d))
                .map_err(|e| format!("cannot list data/{d}: {e}"))?
            {
                entries.push(e?.file_name().to_string_lossy().into_owned());
            }
            entries.sort();
            for name in entries {
                let rel = format!("{d}/{name}");
                if data.join(&rel).is_dir() {
                    stack.push(rel);
                } else if name.ends_with(".json") {
                    let text = std::fs::read_to_string(data.join(&rel))
                        .map_err(|e| format!("cannot read data/{rel}: {e}"))?;
                    writeln!(out, "{rel}\t{}", text.len())?;
                    out.push_str(&text);
                    out.push('\n');
                }
            }
        }
    }
    let out_dir = std::env::var("OUT_DIR")?;
    std::fs::write(Path::new(&out_dir).join("catalog.pack"), out)?;
    Ok(())
}
