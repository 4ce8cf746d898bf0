//! The policy model: what an IAM policy document says, with the span of every element and the
//! shape it was written in (a single value or a list), so the printer can keep it.
//!
//! The model borrows its strings from the text it was parsed from (`Cow`: only strings with
//! JSON escapes are copied), so parsing allocates little; [`Policy::into_owned`] detaches a
//! model from its text when it must outlive it.

use std::borrow::Cow;

use crate::operator::ConditionOperator;
use crate::span::{Span, Spanned};

/// The policy language version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// `2008-10-17`: no policy variables.
    V2008_10_17,
    /// `2012-10-17`: the current language.
    V2012_10_17,
}

impl Version {
    /// The version string as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2008_10_17 => "2008-10-17",
            Version::V2012_10_17 => "2012-10-17",
        }
    }

    /// Parses one of the two version strings.
    pub fn parse(s: &str) -> Option<Version> {
        match s {
            "2008-10-17" => Some(Version::V2008_10_17),
            "2012-10-17" => Some(Version::V2012_10_17),
            _ => None,
        }
    }
}

/// Whether an element was written as one value or as a JSON array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Shape {
    /// A single value (`"Action": "s3:GetObject"`).
    #[default]
    Single,
    /// An array (`"Action": ["s3:GetObject"]`), possibly of one element.
    List,
}

/// One value or a list of values, remembering which was written. A single value is held
/// inline: most elements of real policies hold one value, and they cost no allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueList<T> {
    /// A single value (`"Action": "s3:GetObject"`).
    Single(T),
    /// A JSON array (`"Action": ["s3:GetObject"]`), possibly of one value or none. `null`
    /// entries that AWS tolerates in Resource lists are dropped.
    List(Vec<T>),
}

impl<T> ValueList<T> {
    /// A single value.
    pub fn single(item: T) -> ValueList<T> {
        ValueList::Single(item)
    }

    /// A list of values.
    pub fn list(items: Vec<T>) -> ValueList<T> {
        ValueList::List(items)
    }

    /// How the values were written.
    pub fn shape(&self) -> Shape {
        match self {
            ValueList::Single(_) => Shape::Single,
            ValueList::List(_) => Shape::List,
        }
    }

    /// The values, in order.
    pub fn as_slice(&self) -> &[T] {
        match self {
            ValueList::Single(item) => std::slice::from_ref(item),
            ValueList::List(items) => items,
        }
    }

    /// Applies `f` to every value, keeping the shape.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> ValueList<U> {
        match self {
            ValueList::Single(item) => ValueList::Single(f(item)),
            ValueList::List(items) => ValueList::List(items.into_iter().map(f).collect()),
        }
    }

    /// Iterates over the values.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.as_slice().iter()
    }

    /// Whether there are no values (only possible for an empty list).
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }
}

impl<'a, T> IntoIterator for &'a ValueList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A whole policy document.
///
/// Equality compares what the policy says, never where it was written: spans and sizes are
/// facts about the text and are ignored (each `PartialEq` below destructures its type, so a new
/// field cannot be forgotten).
#[derive(Clone, Debug)]
pub struct Policy<'a> {
    /// `Version`, if present.
    pub version: Option<Spanned<Version>>,
    /// `Id`, if present.
    pub id: Option<Spanned<Cow<'a, str>>>,
    /// `Statement`: one object or a list of them.
    pub statements: ValueList<Statement<'a>>,
    /// The span of the `Statement` value.
    pub statement_span: Span,
    /// The span of the whole document object.
    pub span: Span,
    /// The number of characters of the document without the whitespace between JSON tokens:
    /// the figure IAM's size quotas count.
    pub size_without_whitespace: usize,
    /// The number of characters of the document as written.
    pub size: usize,
}

impl Policy<'_> {
    /// The language version in force: `Version` if given, else 2008-10-17 (AWS's rule).
    pub fn effective_version(&self) -> Version {
        self.version
            .as_ref()
            .map_or(Version::V2008_10_17, |v| v.node)
    }
}

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

impl Effect {
    /// The effect as written canonically.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// One statement.
#[derive(Clone, Debug)]
pub struct Statement<'a> {
    /// The span of the statement object.
    pub span: Span,
    /// `Sid`, if present.
    pub sid: Option<Spanned<Cow<'a, str>>>,
    /// `Effect`.
    pub effect: Spanned<Effect>,
    /// The effect as written, when it is not exactly `Allow` or `Deny` but another case of them
    /// (`"allow"`): AWS accepts that through its syntax check, then fails the policy in "legacy
    /// parsing". Kept so that printing gives back the same document.
    pub effect_spelling: Option<Cow<'a, str>>,
    /// `Principal` or `NotPrincipal`.
    pub principal: Option<PrincipalClause<'a>>,
    /// `Action` or `NotAction`; absent when the statement has neither.
    pub action: Option<ActionClause<'a>>,
    /// `Resource` or `NotResource`; absent when the statement has neither.
    pub resource: Option<ResourceClause<'a>>,
    /// `Condition`, if present.
    pub condition: Option<Condition<'a>>,
}

/// `Action` or `NotAction` with its values.
#[derive(Clone, Debug)]
pub struct ActionClause<'a> {
    /// True for `NotAction`.
    pub negated: bool,
    /// The span of the key (`"Action"`).
    pub key_span: Span,
    /// The action patterns.
    pub values: ValueList<Spanned<Cow<'a, str>>>,
}

/// `Resource` or `NotResource` with its values.
#[derive(Clone, Debug)]
pub struct ResourceClause<'a> {
    /// True for `NotResource`.
    pub negated: bool,
    /// The span of the key (`"Resource"`).
    pub key_span: Span,
    /// The resource patterns.
    pub values: ValueList<Spanned<Cow<'a, str>>>,
}

/// `Principal` or `NotPrincipal` with its value.
#[derive(Clone, Debug)]
pub struct PrincipalClause<'a> {
    /// True for `NotPrincipal`.
    pub negated: bool,
    /// The span of the key (`"Principal"`).
    pub key_span: Span,
    /// The principal value.
    pub value: Spanned<Principal<'a>>,
}

/// The value of a `Principal` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal<'a> {
    /// The bare string `"*"`: everyone, including anonymous callers.
    Wildcard,
    /// A map from principal kind to values, in the order written.
    Map(Vec<PrincipalEntry<'a>>),
}

/// One `"AWS": ...`, `"Service": ...` entry of a principal map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalEntry<'a> {
    /// The kind.
    pub kind: Spanned<PrincipalKind>,
    /// Its values.
    pub values: ValueList<Spanned<Cow<'a, str>>>,
}

/// The kinds of principal a policy can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// `AWS`: accounts, users, roles, sessions, or `*`.
    Aws,
    /// `Service`: service principals such as `ec2.amazonaws.com`.
    Service,
    /// `Federated`: identity providers.
    Federated,
    /// `CanonicalUser`: S3 canonical user IDs.
    CanonicalUser,
}

impl PrincipalKind {
    /// The key as written.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::CanonicalUser => "CanonicalUser",
        }
    }

    /// Parses a principal-map key (case-sensitive).
    pub fn parse(s: &str) -> Option<PrincipalKind> {
        match s {
            "AWS" => Some(PrincipalKind::Aws),
            "Service" => Some(PrincipalKind::Service),
            "Federated" => Some(PrincipalKind::Federated),
            "CanonicalUser" => Some(PrincipalKind::CanonicalUser),
            _ => None,
        }
    }
}

/// A `Condition` element.
#[derive(Clone, Debug)]
pub struct Condition<'a> {
    /// The span of the condition object.
    pub span: Span,
    /// Operator blocks, in the order written.
    pub blocks: Vec<ConditionBlock<'a>>,
}

/// One operator block: `"StringEquals": { key: values, ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionBlock<'a> {
    /// The operator.
    pub operator: Spanned<OperatorName<'a>>,
    /// The key tests, in the order written.
    pub entries: Vec<ConditionEntry<'a>>,
}

/// An operator name: a known operator, or an unknown name (which AWS accepts only with an empty
/// block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorName<'a> {
    /// A known operator.
    Known(ConditionOperator),
    /// An unknown name, kept as written.
    Unknown(Cow<'a, str>),
}

impl OperatorName<'_> {
    /// The name as it prints.
    pub fn to_name(&self) -> String {
        match self {
            OperatorName::Known(op) => op.to_string(),
            OperatorName::Unknown(name) => name.to_string(),
        }
    }
}

/// One key test: `"aws:SourceIp": ["10.0.0.0/8"]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionEntry<'a> {
    /// The condition key as written.
    pub key: Spanned<Cow<'a, str>>,
    /// The values to compare with.
    pub values: ValueList<Spanned<ConditionValue<'a>>>,
}

/// A condition value. Numbers keep their text so they print back as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionValue<'a> {
    /// A JSON string.
    String(Cow<'a, str>),
    /// A JSON boolean.
    Bool(bool),
    /// A bare JSON number, as written.
    Number(Cow<'a, str>),
}

impl ConditionValue<'_> {
    /// The value as text: strings as they are, booleans and numbers in their JSON form. This is
    /// how AWS compares them.
    pub fn as_text(&self) -> &str {
        match self {
            ConditionValue::String(s) | ConditionValue::Number(s) => s,
            ConditionValue::Bool(true) => "true",
            ConditionValue::Bool(false) => "false",
        }
    }
}

impl PartialEq for Policy<'_> {
    fn eq(&self, other: &Self) -> bool {
        let Policy {
            version,
            id,
            statements,
            statement_span: _,
            span: _,
            size_without_whitespace: _,
            size: _,
        } = self;
        *version == other.version && *id == other.id && *statements == other.statements
    }
}
impl Eq for Policy<'_> {}

impl PartialEq for Statement<'_> {
    fn eq(&self, other: &Self) -> bool {
        let Statement {
            span: _,
            sid,
            effect,
            effect_spelling,
            principal,
            action,
            resource,
            condition,
        } = self;
        *sid == other.sid
            && *effect == other.effect
            && *effect_spelling == other.effect_spelling
            && *principal == other.principal
            && *action == other.action
            && *resource == other.resource
            && *condition == other.condition
    }
}
impl Eq for Statement<'_> {}

impl PartialEq for ActionClause<'_> {
    fn eq(&self, other: &Self) -> bool {
        let ActionClause {
            negated,
            key_span: _,
            values,
        } = self;
        *negated == other.negated && *values == other.values
    }
}
impl Eq for ActionClause<'_> {}

impl PartialEq for ResourceClause<'_> {
    fn eq(&self, other: &Self) -> bool {
        let ResourceClause {
            negated,
            key_span: _,
            values,
        } = self;
        *negated == other.negated && *values == other.values
    }
}
impl Eq for ResourceClause<'_> {}

impl PartialEq for PrincipalClause<'_> {
    fn eq(&self, other: &Self) -> bool {
        let PrincipalClause {
            negated,
            key_span: _,
            value,
        } = self;
        *negated == other.negated && *value == other.value
    }
}
impl Eq for PrincipalClause<'_> {}

impl PartialEq for Condition<'_> {
    fn eq(&self, other: &Self) -> bool {
        let Condition { span: _, blocks } = self;
        *blocks == other.blocks
    }
}
impl Eq for Condition<'_> {}

fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

fn own_spanned(s: Spanned<Cow<'_, str>>) -> Spanned<Cow<'static, str>> {
    Spanned::new(own(s.node), s.span)
}

impl Policy<'_> {
    /// Detaches the model from the text it was parsed from.
    pub fn into_owned(self) -> Policy<'static> {
        Policy {
            version: self.version,
            id: self.id.map(own_spanned),
            statements: self.statements.map(Statement::into_owned),
            statement_span: self.statement_span,
            span: self.span,
            size_without_whitespace: self.size_without_whitespace,
            size: self.size,
        }
    }
}

impl Statement<'_> {
    /// Detaches the statement from the text it was parsed from.
    pub fn into_owned(self) -> Statement<'static> {
        Statement {
            span: self.span,
            sid: self.sid.map(own_spanned),
            effect: self.effect,
            effect_spelling: self.effect_spelling.map(own),
            principal: self.principal.map(|p| PrincipalClause {
                negated: p.negated,
                key_span: p.key_span,
                value: Spanned::new(
                    match p.value.node {
                        Principal::Wildcard => Principal::Wildcard,
                        Principal::Map(entries) => Principal::Map(
                            entries
                                .into_iter()
                                .map(|e| PrincipalEntry {
                                    kind: e.kind,
                                    values: e.values.map(own_spanned),
                                })
                                .collect(),
                        ),
                    },
                    p.value.span,
                ),
            }),
            action: self.action.map(|a| ActionClause {
                negated: a.negated,
                key_span: a.key_span,
                values: a.values.map(own_spanned),
            }),
            resource: self.resource.map(|r| ResourceClause {
                negated: r.negated,
                key_span: r.key_span,
                values: r.values.map(own_spanned),
            }),
            condition: self.condition.map(|c| Condition {
                span: c.span,
                blocks: c
                    .blocks
                    .into_iter()
                    .map(|b| ConditionBlock {
                        operator: Spanned::new(
                            match b.operator.node {
                                OperatorName::Known(op) => OperatorName::Known(op),
                                OperatorName::Unknown(name) => OperatorName::Unknown(own(name)),
                            },
                            b.operator.span,
                        ),
                        entries: b
                            .entries
                            .into_iter()
                            .map(|e| ConditionEntry {
                                key: own_spanned(e.key),
                                values: e.values.map(|v| {
                                    Spanned::new(
                                        match v.node {
                                            ConditionValue::String(s) => {
                                                ConditionValue::String(own(s))
                                            }
                                            ConditionValue::Bool(b) => ConditionValue::Bool(b),
                                            ConditionValue::Number(n) => {
                                                ConditionValue::Number(own(n))
                                            }
                                        },
                                        v.span,
                                    )
                                }),
                            })
                            .collect(),
                    })
                    .collect(),
            }),
        }
    }
}
