//! Query-protocol responses (iam-api.md §1.3-§1.7): `<{Action}Response>` with its
//! `<{Action}Result>`, lists of `<member>`, lower-case booleans, ISO-8601 UTC times, policy
//! documents percent-encoded (RFC 3986, space as `%20`), and the error envelope.
//!
//! Written by hand: the documents are small and flat, and escaping the five XML characters is
//! all a writer library would add.

use std::fmt::Write as _;

/// IAM's XML namespace.
pub const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// STS's XML namespace.
pub const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Escapes text for an XML element.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a policy document as IAM sends one: every byte but `A-Z a-z 0-9 - _ . ~`.
pub fn encode_document(document: &str) -> String {
    let mut out = String::with_capacity(document.len() * 2);
    for b in document.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A time as the Query protocol writes it: `2024-01-02T03:04:05Z`.
pub fn timestamp(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// Builds the elements of a result.
#[derive(Debug, Default)]
pub struct Element {
    out: String,
}

impl Element {
    /// An empty element body.
    pub fn new() -> Element {
        Element::default()
    }

    /// `<name>text</name>`.
    pub fn text(&mut self, name: &str, text: &str) -> &mut Element {
        let _ = write!(self.out, "<{name}>{}</{name}>", escape(text));
        self
    }

    /// `<name>text</name>` when there is a value.
    pub fn opt(&mut self, name: &str, text: Option<&str>) -> &mut Element {
        if let Some(t) = text {
            self.text(name, t);
        }
        self
    }

    /// `<name>true|false</name>`.
    pub fn boolean(&mut self, name: &str, value: bool) -> &mut Element {
        self.text(name, if value { "true" } else { "false" })
    }

    /// `<name>123</name>`.
    pub fn int(&mut self, name: &str, value: i64) -> &mut Element {
        self.text(name, &value.to_string())
    }

    /// `<name>2024-01-02T03:04:05Z</name>`.
    pub fn time(&mut self, name: &str, millis: i64) -> &mut Element {
        self.text(name, &timestamp(millis))
    }

    /// A policy document, percent-encoded.
    pub fn document(&mut self, name: &str, document: &str) -> &mut Element {
        self.text(name, &encode_document(document))
    }

    /// `<name>...</name>` around a nested element.
    pub fn child(&mut self, name: &str, build: impl FnOnce(&mut Element)) -> &mut Element {
        let mut inner = Element::new();
        build(&mut inner);
        let _ = write!(self.out, "<{name}>{}</{name}>", inner.out);
        self
    }

    /// A list: `<name><member>...</member>...</name>`, or `<name/>` when empty.
    pub fn list<T>(
        &mut self,
        name: &str,
        items: &[T],
        each: impl Fn(&mut Element, &T),
    ) -> &mut Element {
        if items.is_empty() {
            let _ = write!(self.out, "<{name}/>");
            return self;
        }
        let _ = write!(self.out, "<{name}>");
        for item in items {
            let mut inner = Element::new();
            each(&mut inner, item);
            let _ = write!(self.out, "<member>{}</member>", inner.out);
        }
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// Another element's body, as it is.
    pub fn raw(&mut self, other: &Element) -> &mut Element {
        self.out.push_str(&other.out);
        self
    }

    /// A list of strings.
    pub fn strings(&mut self, name: &str, items: &[String]) -> &mut Element {
        if items.is_empty() {
            let _ = write!(self.out, "<{name}/>");
            return self;
        }
        let _ = write!(self.out, "<{name}>");
        for item in items {
            let _ = write!(self.out, "<member>{}</member>", escape(item));
        }
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// The body written so far.
    pub fn into_inner(self) -> String {
        self.out
    }
}

/// A success response. `result` is `None` for operations without an output shape (no
/// `<{Action}Result>`), `Some` (possibly empty) for those with one: clients need the wrapper
/// whenever the model has an output.
pub fn response(
    action: &str,
    namespace: &str,
    result: Option<Element>,
    request_id: &str,
) -> String {
    let mut out = format!("<{action}Response xmlns=\"{namespace}\">");
    if let Some(r) = result {
        let _ = write!(out, "<{action}Result>{}</{action}Result>", r.out);
    }
    let _ = write!(
        out,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        escape(request_id)
    );
    out
}

/// An error response: `Sender` for client faults (4xx), `Receiver` for server faults (5xx).
pub fn error(namespace: &str, status: u16, code: &str, message: &str, request_id: &str) -> String {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(code),
        escape(message),
        escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_percent_encoded_with_spaces_as_percent_20() {
        assert_eq!(
            encode_document(r#"{"Version":"2012-10-17"}"#),
            "%7B%22Version%22%3A%222012-10-17%22%7D"
        );
        assert_eq!(encode_document("a b+c~"), "a%20b%2Bc~");
        assert_eq!(encode_document("é"), "%C3%A9");
    }

    #[test]
    fn envelopes() {
        let mut r = Element::new();
        r.child("PolicyVersion", |v| {
            v.document("Document", r#"{"Version":"2012-10-17","Statement":[]}"#)
                .text("VersionId", "v1")
                .boolean("IsDefaultVersion", true)
                .time("CreateDate", 1_704_164_645_000);
        });
        assert_eq!(
            response("GetPolicyVersion", IAM_NAMESPACE, Some(r), "rid"),
            "<GetPolicyVersionResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetPolicyVersionResult><PolicyVersion><Document>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>2024-01-02T03:04:05Z</CreateDate></PolicyVersion></GetPolicyVersionResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetPolicyVersionResponse>"
        );
        assert_eq!(
            response("DeletePolicy", IAM_NAMESPACE, None, "r"),
            "<DeletePolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeletePolicyResponse>"
        );
        assert!(
            response("UpdateRole", IAM_NAMESPACE, Some(Element::new()), "r")
                .contains("<UpdateRoleResult></UpdateRoleResult>")
        );
        let mut l = Element::new();
        l.strings("PolicyNames", &[])
            .strings("Tags", &["a<b".to_string()]);
        assert_eq!(
            l.into_inner(),
            "<PolicyNames/><Tags><member>a&lt;b</member></Tags>"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            error(
                IAM_NAMESPACE,
                409,
                "DeleteConflict",
                "Cannot delete a policy attached to entities.",
                "x"
            ),
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>DeleteConflict</Code><Message>Cannot delete a policy attached to entities.</Message></Error><RequestId>x</RequestId></ErrorResponse>"
        );
        assert!(
            error(STS_NAMESPACE, 500, "ServiceFailure", "x", "y").contains("<Type>Receiver</Type>")
        );
    }
}
