//! Reading S3's XML answers: the root element's name and the text of a few
//! of its children, which is all the uploader needs from any of them.
//!
//! quick-xml's event reader does the parsing. Its serde deserializer did
//! this job before, at about a tenth of the whole component's code for
//! four string fields.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

/// A document's root element and the children that were asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The root element's local name (without a namespace prefix).
    pub root: String,
    children: Vec<(&'static str, String)>,
}

impl Document {
    /// The text of the first child called `name`, entities resolved; `None`
    /// when there was none (or it was not asked for).
    pub fn child(&self, name: &str) -> Option<&str> {
        self.children
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| text.as_str())
    }
}

/// The root element's local name, or `None` if `text` does not start with
/// one (after a declaration, comments and whitespace).
pub fn root_name(text: &str) -> Option<String> {
    let mut reader = Reader::from_str(text);
    root_start(&mut reader).map(|(name, _)| name)
}

/// Reads the whole root element of `text`, keeping the text of its direct
/// children named in `wanted`. `None` when `text` is not one well-formed
/// root element, cut short included: a truncated answer is not trusted.
pub fn read(text: &str, wanted: &[&'static str]) -> Option<Document> {
    let mut reader = Reader::from_str(text);
    let (root, empty) = root_start(&mut reader)?;
    let mut children = Vec::new();
    if empty {
        return Some(Document { root, children });
    }
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) => {
                let local = start.local_name();
                match wanted.iter().find(|w| w.as_bytes() == local.as_ref()) {
                    Some(name) => {
                        let text = element_text(&mut reader)?;
                        if !children.iter().any(|(n, _)| n == name) {
                            children.push((*name, text));
                        }
                    }
                    None => {
                        reader.read_to_end(start.name()).ok()?;
                    }
                }
            }
            Event::Empty(empty) => {
                let local = empty.local_name();
                if let Some(name) = wanted.iter().find(|w| w.as_bytes() == local.as_ref())
                    && !children.iter().any(|(n, _)| n == name)
                {
                    children.push((*name, String::new()));
                }
            }
            Event::End(_) => return Some(Document { root, children }),
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// Skips what may come before the root and reads its start: its local name
/// and whether it is empty (`<Root/>`).
fn root_start(reader: &mut Reader<&[u8]>) -> Option<(String, bool)> {
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) => return Some((local_name(start.local_name().as_ref()), false)),
            Event::Empty(empty) => return Some((local_name(empty.local_name().as_ref()), true)),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            _ => return None,
        }
    }
}

fn local_name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The text inside the element just started, up to its end: text, entity
/// and character references, and CDATA, joined; nested elements skipped.
fn element_text(reader: &mut Reader<&[u8]>) -> Option<String> {
    let mut text = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Text(t) => text.push_str(&t.decode().ok()?),
            Event::CData(c) => text.push_str(&c.decode().ok()?),
            Event::GeneralRef(r) => match r.resolve_char_ref().ok()? {
                Some(c) => text.push(c),
                None => text.push_str(resolve_predefined_entity(&r.decode().ok()?)?),
            },
            Event::Start(start) => {
                reader.read_to_end(start.name()).ok()?;
            }
            Event::End(_) => return Some(text),
            Event::Eof => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_read_with_their_entities_resolved() {
        let doc = read(
            r#"<?xml version="1.0"?><R xmlns="urn:x"><A>one &amp; two</A><B>&quot;x&#65;&#x42;&quot;</B></R>"#,
            &["A", "B"],
        )
        .unwrap();
        assert_eq!(doc.root, "R");
        assert_eq!(doc.child("A"), Some("one & two"));
        assert_eq!(doc.child("B"), Some("\"xAB\""));
    }

    #[test]
    fn cdata_counts_as_text_and_nested_elements_are_skipped() {
        let doc = read("<R><A>a<![CDATA[<b>]]><i>no</i>c</A></R>", &["A"]).unwrap();
        assert_eq!(doc.child("A"), Some("a<b>c"));
    }

    #[test]
    fn only_direct_children_asked_for_are_kept_and_the_first_wins() {
        let doc = read(
            "<R><X><A>deep</A></X><A>first</A><A>second</A><C>c</C><E/></R>",
            &["A", "E"],
        )
        .unwrap();
        assert_eq!(doc.child("A"), Some("first"));
        assert_eq!(doc.child("E"), Some(""));
        assert_eq!(doc.child("C"), None);
    }

    #[test]
    fn prefixed_names_are_read_by_their_local_name() {
        let doc = read(r#"<s:R xmlns:s="urn:x"><s:A>v</s:A></s:R>"#, &["A"]).unwrap();
        assert_eq!(doc.root, "R");
        assert_eq!(doc.child("A"), Some("v"));
    }

    #[test]
    fn a_cut_or_broken_document_is_refused() {
        assert_eq!(read("<R><A>v</A>", &["A"]), None);
        assert_eq!(read("<R><A>v", &["A"]), None);
        assert_eq!(read("<R><A>v</B></R>", &["A"]), None);
        assert_eq!(read("<R><A>&bogus;</A></R>", &["A"]), None);
        assert_eq!(read("", &["A"]), None);
        assert_eq!(read("not xml", &["A"]), None);
        assert_eq!(read("<html><body>502</body>", &["A"]), None);
    }

    #[test]
    fn an_empty_root_has_no_children() {
        let doc = read("<R/>", &["A"]).unwrap();
        assert_eq!(doc.root, "R");
        assert_eq!(doc.child("A"), None);
    }

    #[test]
    fn root_name_skips_the_prologue() {
        assert_eq!(
            root_name("<?xml version=\"1.0\"?>\n<!-- c -->\n<Error><Code>x</Code></Error>")
                .as_deref(),
            Some("Error")
        );
        assert_eq!(root_name("text<Error/>"), None);
        assert_eq!(root_name("<Error/>").as_deref(), Some("Error"));
    }
}
