//! The Query protocol's parameters: a form-encoded body (and, for hand-made requests, the
//! query string), with lists flattened as `Name.member.N` and structures as
//! `Name.member.N.Field` (iam-api.md §1.1-§1.2).

use std::collections::BTreeMap;

/// Why the parameters cannot be read, with AWS's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// No `Action` (`MissingAction`, 400).
    MissingAction,
    /// The body is not form-encoded text (`MalformedQueryString`, 400).
    Malformed(String),
}

impl QueryError {
    /// AWS's error code.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::MissingAction => "MissingAction",
            QueryError::Malformed(_) => "MalformedQueryString",
        }
    }

    /// The message.
    pub fn message(&self) -> String {
        match self {
            QueryError::MissingAction => {
                "Could not find an Action parameter in the request.".into()
            }
            QueryError::Malformed(why) => format!("The query string is malformed: {why}"),
        }
    }
}

/// A request's parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    map: BTreeMap<String, String>,
}

/// The most parameters one request may carry (the largest IAM inputs have a few hundred).
pub const MAX_PARAMS: usize = 10_000;

impl Params {
    /// Reads a form-encoded body and an optional query string (the body wins on a clash).
    pub fn parse(body: &[u8], query: Option<&str>) -> Result<Params, QueryError> {
        if std::str::from_utf8(body).is_err() {
            return Err(QueryError::Malformed("the body is not UTF-8".into()));
        }
        let mut map = BTreeMap::new();
        for source in [query.map(str::as_bytes).unwrap_or_default(), body] {
            for (k, v) in form_urlencoded::parse(source) {
                if map.len() >= MAX_PARAMS {
                    return Err(QueryError::Malformed(format!(
                        "more than {MAX_PARAMS} parameters"
                    )));
                }
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        Ok(Params { map })
    }

    /// `Action`, required.
    pub fn action(&self) -> Result<&str, QueryError> {
        self.get("Action")
            .filter(|a| !a.is_empty())
            .ok_or(QueryError::MissingAction)
    }

    /// A scalar parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// A list of scalars, `Name.member.1`, `Name.member.2`, ... in numeric order. `None` when
    /// absent; `Some(empty)` for `Name=` (present, no items).
    pub fn list(&self, name: &str) -> Option<Vec<&str>> {
        let items = self.members(name, None);
        if items.is_empty() {
            return self.map.get(name).map(|_| Vec::new());
        }
        Some(items.into_iter().map(|(_, v)| v).collect())
    }

    /// A field of each structure in a list (`Tags.member.N.Key`), by item number; items are
    /// numbered from 1 in numeric order.
    pub fn list_field(&self, name: &str, field: &str) -> BTreeMap<u32, &str> {
        self.members(name, Some(field)).into_iter().collect()
    }

    fn members(&self, name: &str, field: Option<&str>) -> Vec<(u32, &str)> {
        let prefix = format!("{name}.member.");
        let mut out: Vec<(u32, &str)> = self
            .map
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, v)| {
                let rest = k.get(prefix.len()..)?;
                let (n, tail) = match rest.split_once('.') {
                    Some((n, tail)) => (n, Some(tail)),
                    None => (rest, None),
                };
                (tail == field).then_some(())?;
                Some((n.parse::<u32>().ok()?, v.as_str()))
            })
            .collect();
        out.sort_by_key(|(n, _)| *n);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_lists_and_structures() {
        let body = b"Action=CreatePolicy&Version=2010-05-08&PolicyName=p1&Tags.member.2.Key=b&Tags.member.1.Key=a&Tags.member.1.Value=v+1&Tags.member.2.Value=&ActionNames.member.10=s3%3AX&ActionNames.member.2=s3%3APutObject&ResourceArns=";
        let p = Params::parse(body, None).unwrap();
        assert_eq!(p.action(), Ok("CreatePolicy"));
        assert_eq!(p.get("PolicyName"), Some("p1"));
        assert_eq!(p.list("ActionNames"), Some(vec!["s3:PutObject", "s3:X"]));
        assert_eq!(p.list("ResourceArns"), Some(vec![]));
        assert_eq!(p.list("Missing"), None);
        let keys = p.list_field("Tags", "Key");
        assert_eq!(keys.values().copied().collect::<Vec<_>>(), ["a", "b"]);
        let values = p.list_field("Tags", "Value");
        assert_eq!(values.get(&1), Some(&"v 1"));
        assert_eq!(values.get(&2), Some(&""));
    }

    #[test]
    fn query_string_and_errors() {
        let p = Params::parse(b"", Some("Action=GetUser&Version=2010-05-08")).unwrap();
        assert_eq!(p.action(), Ok("GetUser"));
        assert_eq!(
            Params::parse(b"Version=1", None).unwrap().action(),
            Err(QueryError::MissingAction)
        );
        assert!(matches!(
            Params::parse(&[0xff, 0xfe], None),
            Err(QueryError::Malformed(_))
        ));
        let many = "a=1&".repeat(MAX_PARAMS + 1).replace("a=1", "k=1");
        // Repeated keys count once: under the limit.
        assert!(Params::parse(many.as_bytes(), None).is_ok());
    }
}
