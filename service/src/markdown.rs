//! READMEs, changelogs and previews: Markdown to HTML, then sanitised with an
//! allow-list (ammonia), so no script, event handler, `javascript:` link,
//! frame or style survives, whatever raw HTML the Markdown carried.

use pulldown_cmark::{Options, Parser, html};

use crate::ServiceError;
use crate::actor::Actor;

/// The longest text the editor's preview renders.
pub const MAX_PREVIEW_CHARS: usize = 100_000;

/// The editor's README preview, for signed-in callers: the same renderer
/// and sanitiser as the agent page.
pub fn preview(actor: &Actor, text: &str) -> Result<String, ServiceError> {
    actor.require_user()?;
    if text.chars().count() > MAX_PREVIEW_CHARS {
        return Err(ServiceError::invalid(
            "text",
            format!("must be at most {MAX_PREVIEW_CHARS} characters"),
        ));
    }
    Ok(render(text))
}

/// Sanitised HTML for `markdown`, safe to set as `innerHTML`.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        // Only these schemes; relative links stay relative.
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tags(["input"])
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_markdown() {
        let html = render(
            "# Title\n\nSome **bold** and a [link](https://example.com).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://example.com" rel="noopener noreferrer nofollow ugc">link</a>"#
            ),
            "{html}"
        );
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn hostile_readme_renders_inert() {
        // Blank lines between the parts, so the Markdown links are parsed as
        // links rather than swallowed as text by the raw HTML blocks.
        let hostile = [
            "# Nice agent",
            "<script>alert(1)</script>",
            r#"<img src="x.png" onerror="alert(2)">"#,
            "[click me](javascript:alert(3))",
            r#"<a href="JaVaScRiPt:alert(4)">raw link</a>"#,
            r#"<iframe src="https://evil.example/"></iframe>"#,
            r#"<div style="position:fixed" onclick="alert(5)">overlay</div>"#,
            "<svg><script>alert(6)</script></svg>",
            r#"<object data="x"></object><embed src="x">"#,
            r#"<form action="https://evil.example/"><button>go</button></form>"#,
            "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==)",
            r#"<a href="&#106;avascript:alert(8)">entity</a>"#,
        ]
        .join("\n\n");
        let html = render(&hostile).to_lowercase();
        for banned in [
            "<script",
            "onerror",
            "onclick",
            "javascript:",
            "<iframe",
            "style=",
            "<svg",
            "<object",
            "<embed",
            "<form",
            "data:text",
            "alert(2)",
            "alert(5)",
        ] {
            assert!(!html.contains(banned), "{banned} survived in {html:?}");
        }
        // The harmless parts stay.
        assert!(html.contains("<h1>nice agent</h1>"), "{html}");
        assert!(html.contains("overlay"), "{html}");
        assert!(html.contains("click me"), "{html}");
    }
}
