//! The messages the platform sends, each as plain text and as HTML from
//! one set of words. Names and addresses are escaped into the HTML; links
//! are the platform's own.

use super::Mail;

/// `text` for HTML element content or an attribute value (quotes too).
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

/// One message: a greeting, paragraphs, an optional button, a closing note.
struct Letter<'a> {
    to: &'a str,
    subject: String,
    name: &'a str,
    paragraphs: Vec<String>,
    action: Option<(&'a str, &'a str)>,
    closing: String,
}

impl Letter<'_> {
    fn render(self) -> Mail {
        let greeting = if self.name.is_empty() {
            "Hello,".to_owned()
        } else {
            format!("Hello {},", self.name)
        };
        let mut text = format!("{greeting}\n\n");
        let mut html = format!(
            "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;\
             line-height:1.5;color:#1f2430;max-width:36rem\">\
             <p>{}</p>",
            escape(&greeting)
        );
        for paragraph in &self.paragraphs {
            text.push_str(paragraph);
            text.push_str("\n\n");
            html.push_str(&format!("<p>{}</p>", escape(paragraph)));
        }
        if let Some((label, link)) = self.action {
            text.push_str(&format!("{label}:\n{link}\n\n"));
            html.push_str(&format!(
                "<p><a href=\"{link}\" style=\"display:inline-block;padding:.6em 1.2em;\
                 background:#4f46e5;color:#fff;border-radius:6px;text-decoration:none\">\
                 {label}</a></p><p style=\"font-size:.85em;color:#5b6170\">\
                 Or open this address: {link}</p>",
                link = escape(link),
                label = escape(label),
            ));
        }
        text.push_str(&self.closing);
        text.push_str("\n\n— Agentdeck\n");
        html.push_str(&format!(
            "<p style=\"font-size:.85em;color:#5b6170\">{}</p><p>— Agentdeck</p></body></html>",
            escape(&self.closing)
        ));
        Mail {
            to: self.to.to_owned(),
            subject: self.subject,
            text,
            html,
        }
    }
}

/// Proves the address of a new account. Greets nobody by name: the
/// address is not proven yet, so the name is a stranger's words.
pub fn verify_email(to: &str, link: &str) -> Mail {
    Letter {
        to,
        subject: "Verify your email address for Agentdeck".to_owned(),
        name: "",
        paragraphs: vec![
            "Please confirm that this is your email address. Until you do, your account \
             cannot create API keys, publish agents, join teams or buy credits."
                .to_owned(),
        ],
        action: Some(("Verify my address", link)),
        closing: "The link works once, for 24 hours. If you did not sign up for Agentdeck, \
                  ignore this message: nothing happens without the link."
            .to_owned(),
    }
    .render()
}

/// Proves a new address the account is moving to (no name, as above).
pub fn confirm_new_email(to: &str, link: &str) -> Mail {
    Letter {
        to,
        subject: "Confirm your new email address for Agentdeck".to_owned(),
        name: "",
        paragraphs: vec![format!(
            "You asked to move your Agentdeck account to {to}. Confirm it to finish; \
             until then your account keeps its old address."
        )],
        action: Some(("Confirm my new address", link)),
        closing: "The link works once, for 24 hours. If you did not ask for this, ignore \
                  this message."
            .to_owned(),
    }
    .render()
}

/// The notice the old address gets once an account moved away from it.
pub fn email_changed(to: &str, name: &str, new_email: &str) -> Mail {
    Letter {
        to,
        subject: "Your Agentdeck email address was changed".to_owned(),
        name,
        paragraphs: vec![format!(
            "The email address of your Agentdeck account was changed from {to} to \
             {new_email}. Messages about the account now go there."
        )],
        action: None,
        closing: "If you did not do this, reply to this message or contact support at once: \
                  someone else may be using your account."
            .to_owned(),
    }
    .render()
}

/// A link to set a new password.
pub fn reset_password(to: &str, name: &str, link: &str) -> Mail {
    Letter {
        to,
        subject: "Reset your Agentdeck password".to_owned(),
        name,
        paragraphs: vec![
            "Someone (we hope you) asked to reset the password of your Agentdeck account. \
             Setting a new one signs out every device signed in to the account."
                .to_owned(),
        ],
        action: Some(("Choose a new password", link)),
        closing: "The link works once, for one hour. If you did not ask for it, ignore this \
                  message: your password stays as it is."
            .to_owned(),
    }
    .render()
}

/// The notice after a password was changed or reset.
pub fn password_changed(to: &str, name: &str) -> Mail {
    Letter {
        to,
        subject: "Your Agentdeck password was changed".to_owned(),
        name,
        paragraphs: vec![
            "The password of your Agentdeck account was just changed, and every other \
             device signed in to it was signed out."
                .to_owned(),
        ],
        action: None,
        closing: "If you did not do this, reset your password from the sign-in page at once."
            .to_owned(),
    }
    .render()
}

/// The notice after a device sign-in was approved: a key now exists that
/// a terminal holds, so its owner hears of it even if they were tricked.
pub fn device_signed_in(
    to: &str,
    name: &str,
    client_name: &str,
    requested_from: &str,
    scopes: &str,
    keys_link: &str,
) -> Mail {
    Letter {
        to,
        subject: "A device was signed in to your Agentdeck account".to_owned(),
        name,
        paragraphs: vec![format!(
            "A device calling itself \u{201c}{client_name}\u{201d}, which asked from \
                 {requested_from}, was just approved to act for you with these scopes: \
                 {scopes}. It holds an API key for 90 days."
        )],
        action: Some(("See your API keys", keys_link)),
        closing: "If this was not you, revoke the key at once and change your password.".to_owned(),
    }
    .render()
}

/// A webhook endpoint was turned off after five days of failed deliveries.
pub fn webhook_disabled(to: &str, name: &str, workspace: &str, url: &str, link: &str) -> Mail {
    Letter {
        to,
        subject: "A webhook endpoint of yours was turned off".to_owned(),
        name,
        paragraphs: vec![format!(
            "Deliveries to {url} (workspace \u{201c}{workspace}\u{201d}) have failed for five \
             days, so the endpoint was turned off and no more events are sent to it. Its \
             delivery log says what the endpoint answered."
        )],
        action: Some(("See the endpoint", link)),
        closing: "Fix the receiver, turn the endpoint on again, and redeliver what it missed."
            .to_owned(),
    }
    .render()
}

/// A connection's provider refused to renew its access.
pub fn connection_broken(
    to: &str,
    name: &str,
    provider: &str,
    account: &str,
    workspace: &str,
    link: &str,
) -> Mail {
    Letter {
        to,
        subject: format!("Your {provider} connection needs connecting again"),
        name,
        paragraphs: vec![format!(
            "{provider} refused to renew Agentdeck's access to {account} (workspace \u{201c}{workspace}\u{201d}), \
             so agents using this connection cannot reach {provider} until it is connected again. \
             This happens when access is revoked at {provider}, or when it expires there."
        )],
        action: Some(("Connect it again", link)),
        closing: "Connecting the same account again keeps every deployment that uses it.".to_owned(),
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_html_and_the_link_is_in_both_parts() {
        let link = "https://agentdeck.example/reset-password#token=abc";
        let mail = reset_password("ada@example.com", "<script>Ada</script>", link);
        assert!(mail.html.contains("&lt;script&gt;Ada&lt;/script&gt;"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail.text.contains("<script>Ada</script>"));
        assert!(mail.text.contains(link) && mail.html.contains(link));
        assert_eq!(mail.to, "ada@example.com");
        let unproven = verify_email("ada@example.com", link);
        assert!(unproven.text.starts_with("Hello,\n"), "{}", unproven.text);
    }
}
