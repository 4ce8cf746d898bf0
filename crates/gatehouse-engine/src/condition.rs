//! Compiled condition tests: one per key under an operator, with AWS's rules for missing keys,
//! empty sets, negation, `IfExists` and the set qualifiers.

use base64::Engine as _;
use gatehouse_policy::{BaseOperator, ConditionEntry, ConditionOperator, Family, SetQualifier};
use ipnet::IpNet;
use rust_decimal::Decimal;

use crate::pattern::{ArnPattern, Pattern, Wildcards};
use crate::request::{Context, Values};
use crate::value::{self, Instant, Value};

/// How two ordered values must compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn of(base: BaseOperator) -> Cmp {
        use BaseOperator as B;
        match base {
            B::NumericLessThan | B::DateLessThan => Cmp::Lt,
            B::NumericLessThanEquals | B::DateLessThanEquals => Cmp::Le,
            B::NumericGreaterThan | B::DateGreaterThan => Cmp::Gt,
            B::NumericGreaterThanEquals | B::DateGreaterThanEquals => Cmp::Ge,
            _ => Cmp::Eq,
        }
    }

    fn holds<T: Ord>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// The policy values of one test, read in the operator's domain. A value that cannot be read
/// is kept as `None` and never matches.
#[derive(Clone, Debug, PartialEq)]
enum Operands {
    Equals(Vec<Pattern>),
    EqualsIgnoreCase(Vec<Pattern>),
    Like(Vec<Pattern>),
    Numeric(Vec<Option<Decimal>>, Cmp),
    Date(Vec<Option<Instant>>, Cmp),
    Bool(Vec<Option<bool>>),
    Binary(Vec<Option<Vec<u8>>>),
    Ip(Vec<Option<IpNet>>),
    Arn(Vec<ArnPattern>),
    Null(Vec<Option<bool>>),
}

/// One compiled key test: `"StringEquals": {"aws:username": ["a", "b"]}` gives one test.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Test {
    op: ConditionOperator,
    key: Box<str>,
    key_lower: Box<str>,
    texts: Box<[Box<str>]>,
    operands: Operands,
}

impl Test {
    /// Compiles one key of an operator block. `variables` says whether the policy's version
    /// allows policy variables.
    pub(crate) fn compile(
        op: ConditionOperator,
        entry: &ConditionEntry<'_>,
        variables: bool,
    ) -> Test {
        use BaseOperator as B;
        let texts: Vec<&str> = entry.values.iter().map(|v| v.node.as_text()).collect();
        let base = op.base;
        let string_vars = variables;
        let pats = |w: Wildcards| -> Vec<Pattern> {
            texts
                .iter()
                .map(|t| Pattern::compile(t, string_vars, w))
                .collect()
        };
        let operands = match base.family() {
            Family::String => match base {
                B::StringLike | B::StringNotLike => Operands::Like(pats(Wildcards::Yes)),
                B::StringEqualsIgnoreCase | B::StringNotEqualsIgnoreCase => {
                    Operands::EqualsIgnoreCase(pats(Wildcards::No))
                }
                _ => Operands::Equals(pats(Wildcards::No)),
            },
            Family::Numeric => Operands::Numeric(
                texts.iter().map(|t| value::parse_number(t)).collect(),
                Cmp::of(base),
            ),
            Family::Date => Operands::Date(
                texts.iter().map(|t| value::parse_date(t)).collect(),
                Cmp::of(base),
            ),
            Family::Bool => Operands::Bool(texts.iter().map(|t| value::parse_bool(t)).collect()),
            Family::Binary => Operands::Binary(texts.iter().map(|t| decode_base64(t)).collect()),
            Family::Ip => Operands::Ip(texts.iter().map(|t| value::parse_ip_range(t)).collect()),
            Family::Arn => Operands::Arn(
                texts
                    .iter()
                    .map(|t| ArnPattern::compile(t, string_vars))
                    .collect(),
            ),
            Family::Null => Operands::Null(texts.iter().map(|t| value::parse_bool(t)).collect()),
        };
        Test {
            op,
            key: entry.key.node.as_ref().into(),
            key_lower: entry.key.node.to_ascii_lowercase().into(),
            texts: texts.iter().map(|t| Box::<str>::from(*t)).collect(),
            operands,
        }
    }

    /// The operator.
    pub(crate) fn operator(&self) -> ConditionOperator {
        self.op
    }

    /// The key as written.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The key in lower case.
    pub(crate) fn key_lower(&self) -> &str {
        &self.key_lower
    }

    /// The policy values as written.
    pub(crate) fn texts(&self) -> &[Box<str>] {
        &self.texts
    }

    /// The keys of the variables in the policy values (lower case).
    pub(crate) fn variable_keys(&self) -> Vec<&str> {
        let pats: Box<dyn Iterator<Item = &Pattern>> = match &self.operands {
            Operands::Equals(p) | Operands::EqualsIgnoreCase(p) | Operands::Like(p) => {
                Box::new(p.iter())
            }
            Operands::Arn(a) => Box::new(a.iter().flat_map(|a| a.fields().iter())),
            _ => Box::new(std::iter::empty()),
        };
        pats.flat_map(|p| p.variable_keys()).collect()
    }

    /// Whether the test holds for the request's context.
    pub(crate) fn holds(&self, ctx: &Context) -> bool {
        let values = ctx.get_lower(&self.key_lower);
        if let Operands::Null(expect) = &self.operands {
            let absent = match values {
                None => true,
                Some(v) => v.as_slice().is_empty(),
            };
            return expect.contains(&Some(absent));
        }
        let negated = self.op.base.is_negated();
        let Some(values) = values else {
            return match (self.op.if_exists, self.op.qualifier) {
                (true, _) => true,
                (false, None) => negated,
                (false, Some(SetQualifier::ForAnyValue)) => false,
                (false, Some(SetQualifier::ForAllValues)) => true,
            };
        };
        let xs = values.as_slice();
        match self.op.qualifier {
            // A multivalued key without a qualifier: the positive operator matches when any
            // value matches; the negated one when none does.
            None => xs.iter().any(|x| self.positive(x, ctx)) != negated,
            Some(SetQualifier::ForAnyValue) => xs.iter().any(|x| self.positive(x, ctx) != negated),
            Some(SetQualifier::ForAllValues) => xs.iter().all(|x| self.positive(x, ctx) != negated),
        }
    }

    /// Whether one request value matches any policy value under the positive form of the
    /// operator. Values whose variables have no value drop out.
    fn positive(&self, x: &Value, ctx: &Context) -> bool {
        let text = x.text();
        match &self.operands {
            Operands::Equals(ps) => ps.iter().any(|p| p.equals(text, ctx, false) == Some(true)),
            Operands::EqualsIgnoreCase(ps) => {
                ps.iter().any(|p| p.equals(text, ctx, true) == Some(true))
            }
            Operands::Like(ps) => ps.iter().any(|p| p.matches(text, ctx) == Some(true)),
            Operands::Numeric(ps, cmp) => x
                .number()
                .is_some_and(|n| ps.iter().flatten().any(|p| cmp.holds(n, *p))),
            Operands::Date(ps, cmp) => x
                .date()
                .is_some_and(|d| ps.iter().flatten().any(|p| cmp.holds(d, *p))),
            Operands::Bool(ps) => x.boolean().is_some_and(|b| ps.contains(&Some(b))),
            // The policy value is base64; the request carries the bytes themselves.
            Operands::Binary(ps) => ps
                .iter()
                .zip(self.texts.iter())
                .any(|(p, t)| p.as_deref() == Some(text.as_bytes()) || **t == *text),
            Operands::Ip(ps) => x
                .ip()
                .is_some_and(|ip| ps.iter().flatten().any(|net| net.contains(&ip))),
            Operands::Arn(ps) => ps.iter().any(|p| p.matches_arn(text, ctx) == Some(true)),
            Operands::Null(_) => false,
        }
    }

    /// The request's values for the key, for explanations.
    pub(crate) fn request_values(&self, ctx: &Context) -> Option<Vec<String>> {
        ctx.get_lower(&self.key_lower).map(|v| match v {
            Values::Single(v) => vec![v.text().to_string()],
            Values::Multi(vs) => vs.iter().map(|v| v.text().to_string()).collect(),
        })
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}
