//! The upload page: plain HTML and a little JS, no framework.

/// The page, with `{{…}}` placeholders.
const TEMPLATE: &str = include_str!("page.html");

/// The token field, shown when policies need a token.
const TOKEN_FIELD: &str =
    r#"<label>Upload token <input id="token" type="password" autocomplete="off" required></label>"#;

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageView {
    /// The title, as configured (escaped here).
    pub title: String,
    /// The largest file the policy allows.
    pub max_bytes: u64,
    /// Whether the page asks for the upload token.
    pub token_needed: bool,
    /// Page views so far, if the counter answered.
    pub views: Option<u64>,
    /// Policies granted so far, if the counter answered.
    pub granted: Option<u64>,
}

/// Renders the page.
pub fn render(view: &PageView) -> String {
    let count = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
    TEMPLATE
        .replace("{{title}}", &escape(&view.title))
        .replace("{{max_bytes}}", &view.max_bytes.to_string())
        .replace(
            "{{token_field}}",
            if view.token_needed { TOKEN_FIELD } else { "" },
        )
        .replace("{{views}}", &count(view.views))
        .replace("{{granted}}", &count(view.granted))
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> PageView {
        PageView {
            title: "Drop <b>it</b> & go".into(),
            max_bytes: 1024,
            token_needed: true,
            views: Some(7),
            granted: None,
        }
    }

    #[test]
    fn the_title_is_escaped_and_every_placeholder_filled() {
        let page = render(&view());
        assert!(page.contains("<title>Drop &lt;b&gt;it&lt;/b&gt; &amp; go</title>"));
        assert!(page.contains("up to 1024 bytes"));
        assert!(page.contains("7 page views · ? uploads granted"));
        assert!(!page.contains("{{"), "a placeholder is left");
    }

    #[test]
    fn the_token_field_shows_only_when_needed() {
        assert!(render(&view()).contains(r#"id="token""#));
        let open = PageView {
            token_needed: false,
            ..view()
        };
        assert!(!render(&open).contains(r#"id="token""#));
    }
}
