//! The policy parser: JSON text to the [`Policy`] model, with a span on every element.
//!
//! It reads the policy grammar directly off the JSON (no intermediate tree) and collects every
//! grammar problem it meets, each with its location. These are the problems AWS reports as
//! `Syntax errors in policy.`; everything AWS checks after that stage is in `validate.rs`.

use std::borrow::Cow;
use std::fmt;

use crate::json::{ArrayCursor, JsonError, JsonResult, KeySet, Kind, ObjectCursor, Reader};
use crate::model::{
    ActionClause, Condition, ConditionBlock, ConditionEntry, ConditionValue, Effect, OperatorName,
    Policy, Principal, PrincipalClause, PrincipalEntry, PrincipalKind, ResourceClause, Statement,
    ValueList, Version,
};
use crate::operator::ConditionOperator;
use crate::span::{Span, Spanned};

/// A grammar problem, found while parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub kind: SyntaxErrorKind,
    /// Where.
    pub span: Span,
}

/// The grammar problems the parser can find.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    /// The text is not JSON at all.
    InvalidJson(&'static str),
    /// The document is JSON but not an object.
    NotAnObject,
    /// A key the grammar does not know (`"statement"`, `"Extra field"`).
    UnknownField(String),
    /// The same key twice in one object.
    DuplicateKey(String),
    /// An element holds the wrong JSON type.
    WrongType {
        /// The element.
        element: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it was.
        found: &'static str,
    },
    /// `Version` is neither `2012-10-17` nor `2008-10-17`.
    InvalidVersion(String),
    /// No `Statement`.
    MissingStatement,
    /// `"Statement": []`.
    EmptyStatementList,
    /// A statement without `Effect`.
    MissingEffect,
    /// `Effect` is not Allow or Deny in any case.
    InvalidEffect(String),
    /// Both `Action` and `NotAction` (or the like) in one statement.
    Conflict(&'static str, &'static str),
    /// An unknown condition operator with a non-empty block.
    UnknownOperator(String),
    /// A principal-map key that is not AWS, Service, Federated or CanonicalUser.
    UnknownPrincipalKind(String),
    /// A principal given as a string other than `"*"`.
    InvalidPrincipalString(String),
}

impl fmt::Display for SyntaxErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxErrorKind::InvalidJson(m) => write!(f, "not valid JSON: {m}"),
            SyntaxErrorKind::NotAnObject => f.write_str("the policy must be a JSON object"),
            SyntaxErrorKind::UnknownField(k) => write!(f, "unknown field `{k}`"),
            SyntaxErrorKind::DuplicateKey(k) => write!(f, "duplicate key `{k}`"),
            SyntaxErrorKind::WrongType {
                element,
                expected,
                found,
            } => write!(f, "`{element}` must be {expected}, found {found}"),
            SyntaxErrorKind::InvalidVersion(v) => write!(
                f,
                "`Version` must be \"2012-10-17\" or \"2008-10-17\", found \"{v}\""
            ),
            SyntaxErrorKind::MissingStatement => f.write_str("the policy has no `Statement`"),
            SyntaxErrorKind::EmptyStatementList => f.write_str("`Statement` is an empty list"),
            SyntaxErrorKind::MissingEffect => f.write_str("the statement has no `Effect`"),
            SyntaxErrorKind::InvalidEffect(e) => {
                write!(f, "`Effect` must be \"Allow\" or \"Deny\", found \"{e}\"")
            }
            SyntaxErrorKind::Conflict(a, b) => {
                write!(f, "a statement cannot have both `{a}` and `{b}`")
            }
            SyntaxErrorKind::UnknownOperator(op) => {
                write!(f, "unknown condition operator `{op}`")
            }
            SyntaxErrorKind::UnknownPrincipalKind(k) => write!(
                f,
                "unknown principal type `{k}` (expected AWS, Service, Federated or CanonicalUser)"
            ),
            SyntaxErrorKind::InvalidPrincipalString(p) => write!(
                f,
                "a principal given as a string must be \"*\", found \"{p}\"; use {{\"AWS\": \"{p}\"}}"
            ),
        }
    }
}

/// Parses a policy document. On any grammar problem returns them all (at least one), in text
/// order; a problem that makes the text unreadable as JSON ends the list.
pub fn parse_policy(text: &str) -> Result<Policy<'_>, Vec<SyntaxError>> {
    parse_policy_with(text, &mut |_| {})
}

/// [`parse_policy`], calling `on_statement` with each statement as soon as it is read, while
/// its text is still in the processor's cache (the validator does its per-string checks there).
pub(crate) fn parse_policy_with<'a>(
    text: &'a str,
    on_statement: &mut dyn FnMut(&Statement<'a>),
) -> Result<Policy<'a>, Vec<SyntaxError>> {
    let mut p = Parser {
        on_statement,
        r: Reader::new(text),
        errors: Vec::new(),
    };
    let policy = match p.document() {
        Ok(policy) => policy,
        Err(e) => {
            p.errors.push(json_error(e));
            None
        }
    };
    match policy {
        Some(mut policy) if p.errors.is_empty() => {
            policy.size = crate::span::char_count(text);
            policy.size_without_whitespace = policy.size.saturating_sub(p.r.whitespace);
            Ok(policy)
        }
        _ => {
            if p.errors.is_empty() {
                p.errors.push(SyntaxError {
                    kind: SyntaxErrorKind::NotAnObject,
                    span: Span::at(0),
                });
            }
            Err(p.errors)
        }
    }
}

fn json_error(e: JsonError) -> SyntaxError {
    SyntaxError {
        kind: SyntaxErrorKind::InvalidJson(e.message),
        span: Span::at(e.offset),
    }
}

struct Parser<'a, 'h> {
    on_statement: &'h mut dyn FnMut(&Statement<'a>),
    r: Reader<'a>,
    errors: Vec<SyntaxError>,
}

impl<'a> Parser<'a, '_> {
    fn error(&mut self, kind: SyntaxErrorKind, span: Span) {
        self.errors.push(SyntaxError { kind, span });
    }

    /// Records a wrong-type error for the value at the reader and skips it.
    fn wrong_type(&mut self, element: &'static str, expected: &'static str) -> JsonResult<()> {
        let found = self.r.peek_kind()?.name();
        let span = self.r.skip_value(0)?;
        self.error(
            SyntaxErrorKind::WrongType {
                element,
                expected,
                found,
            },
            span,
        );
        Ok(())
    }

    /// Records a duplicate key and skips its value; false when the key is new.
    fn duplicate(
        &mut self,
        keys: &mut KeySet<'a>,
        key: Cow<'a, str>,
        span: Span,
    ) -> JsonResult<bool> {
        if keys.insert(key.clone()) {
            return Ok(false);
        }
        self.error(SyntaxErrorKind::DuplicateKey(key.to_string()), span);
        self.r.skip_value(0)?;
        Ok(true)
    }

    fn document(&mut self) -> JsonResult<Option<Policy<'a>>> {
        if self.r.peek_kind()? != Kind::Object {
            let span = self.r.skip_value(0)?;
            if !self.r.at_end() {
                return Err(JsonError {
                    message: "unexpected text after the JSON value",
                    offset: self.r.pos(),
                });
            }
            self.error(SyntaxErrorKind::NotAnObject, span);
            return Ok(None);
        }
        let mut version = None;
        let mut id = None;
        let mut statements = None;
        let mut statement_span = Span::default();
        let mut keys = KeySet::default();
        let mut this = ObjectCursor::start(&mut self.r)?;
        while let Some((key, key_span)) = this.next_key(&mut self.r)? {
            if self.duplicate(&mut keys, key.clone(), key_span)? {
                continue;
            }
            match key.as_ref() {
                "Version" => {
                    if self.r.peek_kind()? == Kind::String {
                        let (v, span) = self.r.string()?;
                        match Version::parse(&v) {
                            Some(v) => version = Some(Spanned::new(v, span)),
                            None => {
                                self.error(SyntaxErrorKind::InvalidVersion(v.into_owned()), span)
                            }
                        }
                    } else {
                        self.wrong_type("Version", "a string")?;
                    }
                }
                "Id" => {
                    if self.r.peek_kind()? == Kind::String {
                        let (v, span) = self.r.string()?;
                        id = Some(Spanned::new(v, span));
                    } else {
                        self.wrong_type("Id", "a string")?;
                    }
                }
                "Statement" => match self.r.peek_kind()? {
                    Kind::Object => {
                        let start = self.r.pos();
                        let st = self.statement()?;
                        statement_span = Span::new(start, self.r.pos());
                        statements = Some(ValueList::single(st));
                    }
                    Kind::Array => {
                        let start = self.r.pos();
                        let mut list = Vec::with_capacity(8);
                        let mut arr = ArrayCursor::start(&mut self.r)?;
                        while arr.next(&mut self.r)? {
                            if self.r.peek_kind()? == Kind::Object {
                                list.push(self.statement()?);
                            } else {
                                self.wrong_type("Statement", "an object")?;
                            }
                        }
                        statement_span = Span::new(start, self.r.pos());
                        if list.is_empty() && arr.count == 0 {
                            self.error(SyntaxErrorKind::EmptyStatementList, statement_span);
                        }
                        statements = Some(ValueList::list(list));
                    }
                    _ => self.wrong_type("Statement", "an object or a list of objects")?,
                },
                _ => {
                    self.error(SyntaxErrorKind::UnknownField(key.into_owned()), key_span);
                    self.r.skip_value(0)?;
                }
            }
        }
        let span = this.finish(&self.r);
        if !self.r.at_end() {
            return Err(JsonError {
                message: "unexpected text after the JSON value",
                offset: self.r.pos(),
            });
        }
        let Some(statements) = statements else {
            if !self.errors.iter().any(|e| {
                matches!(
                    &e.kind,
                    SyntaxErrorKind::WrongType {
                        element: "Statement",
                        ..
                    }
                ) || matches!(&e.kind, SyntaxErrorKind::DuplicateKey(k) if k == "Statement")
            }) {
                self.error(SyntaxErrorKind::MissingStatement, span);
            }
            return Ok(None);
        };
        Ok(Some(Policy {
            version,
            id,
            statements,
            statement_span,
            span,
            size_without_whitespace: 0,
            size: 0,
        }))
    }

    fn statement(&mut self) -> JsonResult<Statement<'a>> {
        let mut sid = None;
        let mut effect: Option<Spanned<Effect>> = None;
        let mut effect_spelling = None;
        let mut principal: Option<PrincipalClause<'a>> = None;
        let mut action: Option<ActionClause<'a>> = None;
        let mut resource: Option<ResourceClause<'a>> = None;
        let mut condition = None;
        // The known keys are few, so duplicates are caught with a bit per key.
        let mut seen = 0u16;
        let mut obj = ObjectCursor::start(&mut self.r)?;
        while let Some((key, key_span)) = obj.next_key(&mut self.r)? {
            let field = StatementField::of(&key);
            if let Some(field) = field {
                let bit = 1u16 << field as u16;
                if seen & bit != 0 {
                    self.error(SyntaxErrorKind::DuplicateKey(key.into_owned()), key_span);
                    self.r.skip_value(0)?;
                    continue;
                }
                seen |= bit;
            }
            match field {
                Some(StatementField::Sid) => {
                    if self.r.peek_kind()? == Kind::String {
                        let (v, span) = self.r.string()?;
                        sid = Some(Spanned::new(v, span));
                    } else {
                        self.wrong_type("Sid", "a string")?;
                    }
                }
                Some(StatementField::Effect) => {
                    if self.r.peek_kind()? == Kind::String {
                        let (v, span) = self.r.string()?;
                        let e = if v.eq_ignore_ascii_case("Allow") {
                            Some(Effect::Allow)
                        } else if v.eq_ignore_ascii_case("Deny") {
                            Some(Effect::Deny)
                        } else {
                            None
                        };
                        match e {
                            Some(e) => {
                                if v != e.as_str() {
                                    effect_spelling = Some(v);
                                }
                                effect = Some(Spanned::new(e, span));
                            }
                            None => {
                                self.error(SyntaxErrorKind::InvalidEffect(v.into_owned()), span)
                            }
                        }
                    } else {
                        self.wrong_type("Effect", "a string")?;
                    }
                }
                Some(f @ (StatementField::Action | StatementField::NotAction)) => {
                    let negated = f == StatementField::NotAction;
                    let name = if negated { "NotAction" } else { "Action" };
                    let values = self.string_list(name, false)?;
                    if action.is_some() {
                        self.error(SyntaxErrorKind::Conflict("Action", "NotAction"), key_span);
                    } else if let Some(values) = values {
                        action = Some(ActionClause {
                            negated,
                            key_span,
                            values,
                        });
                    }
                }
                Some(f @ (StatementField::Resource | StatementField::NotResource)) => {
                    let negated = f == StatementField::NotResource;
                    let name = if negated { "NotResource" } else { "Resource" };
                    let values = self.string_list(name, true)?;
                    if resource.is_some() {
                        self.error(
                            SyntaxErrorKind::Conflict("Resource", "NotResource"),
                            key_span,
                        );
                    } else if let Some(values) = values {
                        resource = Some(ResourceClause {
                            negated,
                            key_span,
                            values,
                        });
                    }
                }
                Some(f @ (StatementField::Principal | StatementField::NotPrincipal)) => {
                    let negated = f == StatementField::NotPrincipal;
                    let value =
                        self.principal(if negated { "NotPrincipal" } else { "Principal" })?;
                    if principal.is_some() {
                        self.error(
                            SyntaxErrorKind::Conflict("Principal", "NotPrincipal"),
                            key_span,
                        );
                    } else if let Some(value) = value {
                        principal = Some(PrincipalClause {
                            negated,
                            key_span,
                            value,
                        });
                    }
                }
                Some(StatementField::Condition) => {
                    if self.r.peek_kind()? == Kind::Object {
                        condition = Some(self.condition()?);
                    } else {
                        self.wrong_type("Condition", "an object")?;
                    }
                }
                None => {
                    self.error(SyntaxErrorKind::UnknownField(key.into_owned()), key_span);
                    self.r.skip_value(0)?;
                }
            }
        }
        let span = obj.finish(&self.r);
        let effect = match effect {
            Some(e) => e,
            None => {
                // An Effect that was there but unreadable has had its error already.
                if seen & (1 << StatementField::Effect as u16) == 0 {
                    self.error(SyntaxErrorKind::MissingEffect, span);
                }
                Spanned::new(Effect::Allow, span)
            }
        };
        let statement = Statement {
            span,
            sid,
            effect,
            effect_spelling,
            principal,
            action,
            resource,
            condition,
        };
        (self.on_statement)(&statement);
        Ok(statement)
    }

    /// Reads a string or a list of strings. `allow_null` lets `null` entries through (and drops
    /// them), as AWS does in Resource lists. None when the value had the wrong type.
    fn string_list(
        &mut self,
        element: &'static str,
        allow_null: bool,
    ) -> JsonResult<Option<ValueList<Spanned<Cow<'a, str>>>>> {
        match self.r.peek_kind()? {
            Kind::String => {
                let (s, span) = self.r.string()?;
                Ok(Some(ValueList::single(Spanned::new(s, span))))
            }
            Kind::Array => {
                // Most lists are short; starting at sixteen saves the first regrowths.
                let mut items = Vec::with_capacity(16);
                let mut ok = true;
                // The hottest loop of the parser (AWS's policies hold tens of thousands of
                // actions), so it reads the array directly rather than through ArrayCursor.
                self.r.expect_byte(b'[', "expected '['")?;
                self.r.skip_ws();
                if !self.r.eat_byte(b']') {
                    loop {
                        self.r.skip_ws();
                        if self.r.peek_byte() == Some(b'"') {
                            let (s, span) = self.r.string()?;
                            items.push(Spanned::new(s, span));
                        } else if allow_null && self.r.peek_kind()? == Kind::Null {
                            self.r.null()?;
                        } else {
                            ok = false;
                            self.wrong_type(element, "a string or a list of strings")?;
                        }
                        self.r.skip_ws();
                        if self.r.eat_byte(b',') {
                            continue;
                        }
                        if self.r.eat_byte(b']') {
                            break;
                        }
                        return Err(self.r.error_here("expected ',' or ']' in array"));
                    }
                }
                Ok(ok.then(|| ValueList::list(items)))
            }
            _ => {
                self.wrong_type(element, "a string or a list of strings")?;
                Ok(None)
            }
        }
    }

    fn principal(&mut self, element: &'static str) -> JsonResult<Option<Spanned<Principal<'a>>>> {
        match self.r.peek_kind()? {
            Kind::String => {
                let (s, span) = self.r.string()?;
                if s == "*" {
                    Ok(Some(Spanned::new(Principal::Wildcard, span)))
                } else {
                    self.error(
                        SyntaxErrorKind::InvalidPrincipalString(s.into_owned()),
                        span,
                    );
                    Ok(None)
                }
            }
            Kind::Object => {
                let mut entries = Vec::new();
                let mut keys = KeySet::default();
                let mut ok = true;
                let mut obj = ObjectCursor::start(&mut self.r)?;
                while let Some((key, key_span)) = obj.next_key(&mut self.r)? {
                    if self.duplicate(&mut keys, key.clone(), key_span)? {
                        continue;
                    }
                    let Some(kind) = PrincipalKind::parse(&key) else {
                        ok = false;
                        self.error(
                            SyntaxErrorKind::UnknownPrincipalKind(key.into_owned()),
                            key_span,
                        );
                        self.r.skip_value(0)?;
                        continue;
                    };
                    match self.string_list(element, false)? {
                        Some(values) => entries.push(PrincipalEntry {
                            kind: Spanned::new(kind, key_span),
                            values,
                        }),
                        None => ok = false,
                    }
                }
                let span = obj.finish(&self.r);
                Ok(ok.then(|| Spanned::new(Principal::Map(entries), span)))
            }
            _ => {
                self.wrong_type(element, "\"*\" or an object")?;
                Ok(None)
            }
        }
    }

    fn condition(&mut self) -> JsonResult<Condition<'a>> {
        let mut blocks = Vec::new();
        let mut keys = KeySet::default();
        let mut obj = ObjectCursor::start(&mut self.r)?;
        while let Some((name, name_span)) = obj.next_key(&mut self.r)? {
            if self.duplicate(&mut keys, name.clone(), name_span)? {
                continue;
            }
            if self.r.peek_kind()? != Kind::Object {
                self.wrong_type("Condition", "an object for each operator")?;
                continue;
            }
            let operator = match ConditionOperator::parse(&name) {
                Some(op) => OperatorName::Known(op),
                None => OperatorName::Unknown(name.clone()),
            };
            let mut entries = Vec::new();
            let mut entry_keys = KeySet::default();
            let mut block = ObjectCursor::start(&mut self.r)?;
            while let Some((key, key_span)) = block.next_key(&mut self.r)? {
                if self.duplicate(&mut entry_keys, key.clone(), key_span)? {
                    continue;
                }
                if let Some(values) = self.condition_values()? {
                    entries.push(ConditionEntry {
                        key: Spanned::new(key, key_span),
                        values,
                    });
                }
            }
            block.finish(&self.r);
            if matches!(operator, OperatorName::Unknown(_)) && block.count > 0 {
                self.error(
                    SyntaxErrorKind::UnknownOperator(name.into_owned()),
                    name_span,
                );
                continue;
            }
            blocks.push(ConditionBlock {
                operator: Spanned::new(operator, name_span),
                entries,
            });
        }
        let span = obj.finish(&self.r);
        Ok(Condition { span, blocks })
    }

    fn condition_value(&mut self) -> JsonResult<Option<Spanned<ConditionValue<'a>>>> {
        Ok(Some(match self.r.peek_kind()? {
            Kind::String => {
                let (s, span) = self.r.string()?;
                Spanned::new(ConditionValue::String(s), span)
            }
            Kind::Bool => {
                let (b, span) = self.r.boolean()?;
                Spanned::new(ConditionValue::Bool(b), span)
            }
            Kind::Number => {
                let (n, span) = self.r.number()?;
                Spanned::new(ConditionValue::Number(Cow::Borrowed(n)), span)
            }
            _ => {
                self.wrong_type(
                    "Condition",
                    "a string, number, boolean or list of them for each key",
                )?;
                return Ok(None);
            }
        }))
    }

    fn condition_values(&mut self) -> JsonResult<Option<ValueList<Spanned<ConditionValue<'a>>>>> {
        if self.r.peek_kind()? != Kind::Array {
            return Ok(self.condition_value()?.map(ValueList::single));
        }
        let mut items = Vec::new();
        let mut ok = true;
        let mut arr = ArrayCursor::start(&mut self.r)?;
        while arr.next(&mut self.r)? {
            match self.condition_value()? {
                Some(v) => items.push(v),
                None => ok = false,
            }
        }
        Ok(ok.then(|| ValueList::list(items)))
    }
}

/// The elements a statement may have; the discriminant is the bit for duplicate detection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StatementField {
    Sid,
    Effect,
    Action,
    NotAction,
    Resource,
    NotResource,
    Principal,
    NotPrincipal,
    Condition,
}

impl StatementField {
    fn of(key: &str) -> Option<StatementField> {
        Some(match key {
            "Sid" => StatementField::Sid,
            "Effect" => StatementField::Effect,
            "Action" => StatementField::Action,
            "NotAction" => StatementField::NotAction,
            "Resource" => StatementField::Resource,
            "NotResource" => StatementField::NotResource,
            "Principal" => StatementField::Principal,
            "NotPrincipal" => StatementField::NotPrincipal,
            "Condition" => StatementField::Condition,
            _ => return None,
        })
    }
}
