//! The soak's block inside docs/BENCHMARKS.md: `make soak` writes its "RSS per role" section
//! between two markers, and `make bench`, which rewrites the whole file, carries that block
//! over. Shared by both binaries (`leadledger-soak` includes this file by path).

/// First line of the block.
pub const BEGIN: &str = "<!-- soak:begin (written by `make soak`; `make bench` keeps it) -->";
/// Last line of the block.
pub const END: &str = "<!-- soak:end -->";
/// The block goes before this heading when the document has no block yet.
const BEFORE: &str = "\n## Notes";

/// The block in `doc`, markers included, if there is one.
pub fn extract(doc: &str) -> Option<&str> {
    let start = doc.find(BEGIN)?;
    let end = doc[start..].find(END)? + start + END.len();
    Some(&doc[start..end])
}

/// `doc` with `block` (markers included) in place of its block, or before its Notes section
/// (at the end if it has none).
pub fn splice(doc: &str, block: &str) -> String {
    if let Some(old) = extract(doc) {
        return doc.replacen(old, block.trim_end(), 1);
    }
    match doc.find(BEFORE) {
        Some(i) => format!("{}\n{}\n{}", &doc[..i], block.trim_end(), &doc[i..]),
        None => format!("{}\n\n{}\n", doc.trim_end(), block.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_before_notes_then_replaces() {
        let doc = "# T\n\n## A\n\ntext\n\n## Notes\n\n- n\n";
        let b1 = format!("{BEGIN}\none\n{END}\n");
        let once = splice(doc, &b1);
        assert_eq!(
            once,
            format!("# T\n\n## A\n\ntext\n\n{BEGIN}\none\n{END}\n\n## Notes\n\n- n\n")
        );
        let b2 = format!("{BEGIN}\ntwo\n{END}");
        let twice = splice(&once, &b2);
        assert_eq!(twice, once.replace("one", "two"));
        assert_eq!(extract(&twice), Some(b2.as_str()));
        assert_eq!(extract(doc), None);
    }

    #[test]
    fn appends_without_notes() {
        let b = format!("{BEGIN}\nx\n{END}");
        assert_eq!(splice("# T\n", &b), format!("# T\n\n{b}\n"));
    }
}
