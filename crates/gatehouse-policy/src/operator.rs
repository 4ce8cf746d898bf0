//! Condition operators, built from parts: an optional set qualifier (`ForAnyValue:` or
//! `ForAllValues:`), a base operator, and an optional `IfExists` suffix.
//!
//! The base operators live in one table, [`BASE_OPERATORS`]; every name AWS accepts is some
//! combination of the three parts, so a new combination never needs a new entry. (A fixed list
//! of full names is how a peer came to reject two of AWS's own managed policies.)

use std::fmt;

/// The type family a base operator compares in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// `String*` operators.
    String,
    /// `Numeric*` operators.
    Numeric,
    /// `Date*` operators.
    Date,
    /// `Bool`.
    Bool,
    /// `BinaryEquals`.
    Binary,
    /// `IpAddress` and `NotIpAddress`.
    Ip,
    /// `Arn*` operators.
    Arn,
    /// `Null`.
    Null,
}

/// One base condition operator, without qualifier or suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The variant names are AWS's operator names.
pub enum BaseOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

/// What the registry knows of each base operator.
#[derive(Clone, Copy, Debug)]
pub struct BaseOperatorInfo {
    /// AWS's name, exactly as written in policies (case-sensitive).
    pub name: &'static str,
    /// The operator.
    pub op: BaseOperator,
    /// The type family it compares in.
    pub family: Family,
    /// Whether it is the negation of a positive operator (`StringNotEquals`, `NotIpAddress`...).
    pub negated: bool,
}

macro_rules! registry {
    ($( $op:ident => $family:ident, $negated:expr; )*) => {
        /// The registry of base operators: name, family and polarity, in AWS's documented order.
        pub const BASE_OPERATORS: &[BaseOperatorInfo] = &[
            $( BaseOperatorInfo {
                name: stringify!($op),
                op: BaseOperator::$op,
                family: Family::$family,
                negated: $negated,
            }, )*
        ];

        impl BaseOperator {
            /// Looks up a base operator by its exact (case-sensitive) name.
            pub fn from_name(name: &str) -> Option<BaseOperator> {
                match name {
                    $( stringify!($op) => Some(BaseOperator::$op), )*
                    _ => None,
                }
            }

            /// The registry entry of this operator.
            pub fn info(self) -> &'static BaseOperatorInfo {
                match self {
                    $( BaseOperator::$op => &BaseOperatorInfo {
                        name: stringify!($op),
                        op: BaseOperator::$op,
                        family: Family::$family,
                        negated: $negated,
                    }, )*
                }
            }
        }
    };
}

registry! {
    StringEquals => String, false;
    StringNotEquals => String, true;
    StringEqualsIgnoreCase => String, false;
    StringNotEqualsIgnoreCase => String, true;
    StringLike => String, false;
    StringNotLike => String, true;
    NumericEquals => Numeric, false;
    NumericNotEquals => Numeric, true;
    NumericLessThan => Numeric, false;
    NumericLessThanEquals => Numeric, false;
    NumericGreaterThan => Numeric, false;
    NumericGreaterThanEquals => Numeric, false;
    DateEquals => Date, false;
    DateNotEquals => Date, true;
    DateLessThan => Date, false;
    DateLessThanEquals => Date, false;
    DateGreaterThan => Date, false;
    DateGreaterThanEquals => Date, false;
    Bool => Bool, false;
    BinaryEquals => Binary, false;
    IpAddress => Ip, false;
    NotIpAddress => Ip, true;
    ArnEquals => Arn, false;
    ArnLike => Arn, false;
    ArnNotEquals => Arn, true;
    ArnNotLike => Arn, true;
    Null => Null, false;
}

impl BaseOperator {
    /// AWS's name of the operator.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Its type family.
    pub fn family(self) -> Family {
        self.info().family
    }

    /// Whether it negates a positive operator.
    pub fn is_negated(self) -> bool {
        self.info().negated
    }
}

/// The set qualifier of an operator used on multivalued keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// `ForAnyValue:` — some request value must match.
    ForAnyValue,
    /// `ForAllValues:` — every request value must match (true for an empty set).
    ForAllValues,
}

impl SetQualifier {
    /// The prefix as written, with its colon.
    pub fn prefix(self) -> &'static str {
        match self {
            SetQualifier::ForAnyValue => "ForAnyValue:",
            SetQualifier::ForAllValues => "ForAllValues:",
        }
    }
}

/// A full condition operator: qualifier x base x `IfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConditionOperator {
    /// `ForAnyValue:` / `ForAllValues:`, if present.
    pub qualifier: Option<SetQualifier>,
    /// The base operator.
    pub base: BaseOperator,
    /// Whether the `IfExists` suffix is present.
    pub if_exists: bool,
}

impl ConditionOperator {
    /// Parses an operator name such as `ForAnyValue:StringLikeIfExists`. Names are
    /// case-sensitive; at most one qualifier and one suffix; `Null` takes no `IfExists`
    /// (AWS's documentation; see docs/compatibility.md).
    pub fn parse(name: &str) -> Option<ConditionOperator> {
        let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else {
            (None, name)
        };
        if let Some(base) = BaseOperator::from_name(rest) {
            return Some(ConditionOperator {
                qualifier,
                base,
                if_exists: false,
            });
        }
        let base = BaseOperator::from_name(rest.strip_suffix("IfExists")?)?;
        if base == BaseOperator::Null {
            return None;
        }
        Some(ConditionOperator {
            qualifier,
            base,
            if_exists: true,
        })
    }
}

impl fmt::Display for ConditionOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(q) = self.qualifier {
            f.write_str(q.prefix())?;
        }
        f.write_str(self.base.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_and_info_agree() {
        for info in BASE_OPERATORS {
            assert_eq!(info.op.name(), info.name);
            assert_eq!(info.op.family(), info.family);
            assert_eq!(info.op.is_negated(), info.negated);
        }
        assert_eq!(BASE_OPERATORS.len(), 27);
    }

    #[test]
    fn every_combination_parses_and_prints_back() {
        let mut count = 0;
        for info in BASE_OPERATORS {
            for q in ["", "ForAnyValue:", "ForAllValues:"] {
                for s in ["", "IfExists"] {
                    let name = format!("{q}{}{s}", info.name);
                    let parsed = ConditionOperator::parse(&name);
                    if info.op == BaseOperator::Null && !s.is_empty() {
                        assert_eq!(parsed, None, "{name}");
                        continue;
                    }
                    let parsed = parsed.unwrap_or_else(|| panic!("{name} did not parse"));
                    assert_eq!(parsed.to_string(), name);
                    count += 1;
                }
            }
        }
        assert_eq!(count, 27 * 6 - 3);
    }

    #[test]
    fn rejects_malformed_names() {
        for bad in [
            "stringequals",
            "ForAnyValue::StringEqualsIfExists",
            "ForAnyValue:ForAllValues:StringEquals",
            "StringEqualsIfExistsIfExists",
            "forAnyValue:StringEquals",
            "IfExists",
            "NullIfExists",
            "",
        ] {
            assert_eq!(ConditionOperator::parse(bad), None, "{bad}");
        }
    }
}
