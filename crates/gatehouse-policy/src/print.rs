//! The printer: a policy model back to JSON text, in a canonical pretty form (4-space indent,
//! elements in AWS's documented order) or a compact one. Shapes are kept: a single value prints
//! as a single value and a list as a list, so printing never changes what the policy says.

use std::borrow::Cow;

use crate::model::{ConditionValue, Policy, Principal, Statement, ValueList};
use crate::span::Spanned;

/// The layout to print in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One element per line, 4-space indent.
    Pretty,
    /// No whitespace at all.
    Compact,
}

/// Prints `policy` in the canonical pretty form, ending with a newline.
pub fn to_pretty(policy: &Policy<'_>) -> String {
    let mut s = print(policy, Layout::Pretty);
    s.push('\n');
    s
}

/// Prints `policy` without whitespace.
pub fn to_compact(policy: &Policy<'_>) -> String {
    print(policy, Layout::Compact)
}

/// Prints `policy` in `layout`.
pub fn print(policy: &Policy<'_>, layout: Layout) -> String {
    let mut w = Writer {
        out: String::with_capacity(policy.size.max(64)),
        layout,
        depth: 0,
        first: Vec::new(),
    };
    w.open('{');
    if let Some(v) = &policy.version {
        w.key("Version");
        w.string(v.node.as_str());
    }
    if let Some(id) = &policy.id {
        w.key("Id");
        w.string(&id.node);
    }
    w.key("Statement");
    w.list(&policy.statements, Writer::statement);
    w.close('}');
    w.out
}

struct Writer {
    out: String,
    layout: Layout,
    depth: usize,
    /// For each open container: whether nothing has been written in it yet.
    first: Vec<bool>,
}

impl Writer {
    fn newline(&mut self) {
        if self.layout == Layout::Pretty {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("    ");
            }
        }
    }

    fn open(&mut self, c: char) {
        self.out.push(c);
        self.depth += 1;
        self.first.push(true);
    }

    fn close(&mut self, c: char) {
        self.depth = self.depth.saturating_sub(1);
        if self.first.pop() == Some(false) {
            self.newline();
        }
        self.out.push(c);
    }

    /// Starts the next member or element of the innermost container.
    fn item(&mut self) {
        if let Some(first) = self.first.last_mut() {
            if !*first {
                self.out.push(',');
            }
            *first = false;
        }
        self.newline();
    }

    fn key(&mut self, k: &str) {
        self.item();
        self.string(k);
        self.out.push(':');
        if self.layout == Layout::Pretty {
            self.out.push(' ');
        }
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    self.out.push_str(&format!("\\u{:04x}", c as u32));
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    fn strings(&mut self, list: &ValueList<Spanned<Cow<'_, str>>>) {
        self.list(list, |w, s| w.string(&s.node));
    }

    fn list<T>(&mut self, list: &ValueList<T>, mut each: impl FnMut(&mut Self, &T)) {
        match list {
            ValueList::Single(one) => each(self, one),
            ValueList::List(items) => {
                self.open('[');
                for v in items {
                    self.item();
                    each(self, v);
                }
                self.close(']');
            }
        }
    }

    fn statement(&mut self, st: &Statement<'_>) {
        self.open('{');
        if let Some(sid) = &st.sid {
            self.key("Sid");
            self.string(&sid.node);
        }
        self.key("Effect");
        // A wrongly cased effect prints as written, so the document stays what it was.
        self.string(
            st.effect_spelling
                .as_deref()
                .unwrap_or(st.effect.node.as_str()),
        );
        if let Some(p) = &st.principal {
            self.key(if p.negated {
                "NotPrincipal"
            } else {
                "Principal"
            });
            match &p.value.node {
                Principal::Wildcard => self.string("*"),
                Principal::Map(entries) => {
                    self.open('{');
                    for e in entries {
                        self.key(e.kind.node.as_str());
                        self.strings(&e.values);
                    }
                    self.close('}');
                }
            }
        }
        if let Some(a) = &st.action {
            self.key(if a.negated { "NotAction" } else { "Action" });
            self.strings(&a.values);
        }
        if let Some(r) = &st.resource {
            self.key(if r.negated { "NotResource" } else { "Resource" });
            self.strings(&r.values);
        }
        if let Some(c) = &st.condition {
            self.key("Condition");
            self.open('{');
            for block in &c.blocks {
                self.key(&block.operator.node.to_name());
                self.open('{');
                for entry in &block.entries {
                    self.key(&entry.key.node);
                    self.list(&entry.values, |w, v| match &v.node {
                        ConditionValue::String(s) => w.string(s),
                        ConditionValue::Bool(b) => {
                            w.out.push_str(if *b { "true" } else { "false" })
                        }
                        ConditionValue::Number(n) => w.out.push_str(n),
                    });
                }
                self.close('}');
            }
            self.close('}');
        }
        self.close('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_policy;

    #[test]
    fn pretty_form_is_canonical() {
        let text = r#"{"Statement":{"Resource":["*"],"Action":"s3:Get*","Effect":"Allow","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}}},"Version":"2012-10-17"}"#;
        let policy = parse_policy(text).unwrap();
        let expected = r#"{
    "Version": "2012-10-17",
    "Statement": {
        "Effect": "Allow",
        "Action": "s3:Get*",
        "Resource": [
            "*"
        ],
        "Condition": {
            "Bool": {
                "aws:SecureTransport": true
            },
            "NumericLessThan": {
                "s3:max-keys": 10
            }
        }
    }
}
"#;
        assert_eq!(to_pretty(&policy), expected);
        assert_eq!(
            to_compact(&policy),
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":["*"],"Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}}}}"#
        );
    }

    #[test]
    fn empty_containers_print_closed() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":[],"Resource":"*","Condition":{}}]}"#;
        let policy = parse_policy(text).unwrap();
        assert!(to_pretty(&policy).contains("\"Action\": [],"));
        assert!(to_pretty(&policy).contains("\"Condition\": {}"));
        assert_eq!(parse_policy(&to_compact(&policy)).unwrap(), policy);
    }
}
