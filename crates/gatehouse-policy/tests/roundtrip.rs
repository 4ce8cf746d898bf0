//! Property test: any policy model prints (pretty and compact) to text that parses back to an
//! equal model.

use gatehouse_policy::{
    ActionClause, BASE_OPERATORS, Condition, ConditionBlock, ConditionEntry, ConditionOperator,
    ConditionValue, Effect, OperatorName, Policy, Principal, PrincipalClause, PrincipalEntry,
    PrincipalKind, ResourceClause, SetQualifier, Shape, Span, Spanned, Statement, ValueList,
    Version, parse_policy, to_compact, to_pretty,
};
use std::borrow::Cow;

use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-zA-Z0-9:*?/${}.-]{0,12}",
        any::<String>(),
        Just("\"\\\n\t\u{1}é".to_owned()),
    ]
    .boxed()
}

fn located<T>(node: T) -> Spanned<T> {
    Spanned::unlocated(node)
}

fn list_of<T: std::fmt::Debug + Clone>(
    item: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = ValueList<T>> {
    prop_oneof![
        item.clone().prop_map(ValueList::single),
        vec(item, 0..4).prop_map(ValueList::list),
    ]
}

fn cow() -> BoxedStrategy<Cow<'static, str>> {
    text().prop_map(Cow::Owned).boxed()
}

fn strings() -> impl Strategy<Value = ValueList<Spanned<Cow<'static, str>>>> {
    list_of(cow().prop_map(located).boxed())
}

fn operator() -> impl Strategy<Value = OperatorName<'static>> {
    let known = (0..BASE_OPERATORS.len(), 0..3usize, any::<bool>()).prop_filter_map(
        "Null takes no IfExists",
        |(i, q, if_exists)| {
            let base = BASE_OPERATORS[i].op;
            if base == gatehouse_policy::BaseOperator::Null && if_exists {
                return None;
            }
            let qualifier = [
                None,
                Some(SetQualifier::ForAnyValue),
                Some(SetQualifier::ForAllValues),
            ][q];
            Some(OperatorName::Known(ConditionOperator {
                qualifier,
                base,
                if_exists,
            }))
        },
    );
    prop_oneof![4 => known, 1 => "Unknown[a-z]{1,5}".prop_map(|s| OperatorName::Unknown(Cow::Owned(s)))]
}

fn condition_value() -> BoxedStrategy<Spanned<ConditionValue<'static>>> {
    prop_oneof![
        cow().prop_map(ConditionValue::String),
        any::<bool>().prop_map(ConditionValue::Bool),
        "-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?"
            .prop_map(|n| ConditionValue::Number(Cow::Owned(n))),
    ]
    .prop_map(located)
    .boxed()
}

fn condition() -> impl Strategy<Value = Condition<'static>> {
    vec(
        (
            operator(),
            btree_map(cow(), list_of(condition_value()), 0..3),
        ),
        0..4,
    )
    .prop_map(|blocks| {
        let mut seen = std::collections::HashSet::new();
        let blocks = blocks
            .into_iter()
            .filter(|(op, _)| seen.insert(op.to_name()))
            .map(|(op, entries)| {
                // AWS accepts an unknown operator only with an empty block.
                let entries = match op {
                    OperatorName::Unknown(_) => Vec::new(),
                    OperatorName::Known(_) => entries
                        .into_iter()
                        .map(|(key, values)| ConditionEntry {
                            key: located(key),
                            values,
                        })
                        .collect(),
                };
                ConditionBlock {
                    operator: located(op),
                    entries,
                }
            })
            .collect();
        Condition {
            span: Span::default(),
            blocks,
        }
    })
}

fn principal() -> impl Strategy<Value = PrincipalClause<'static>> {
    let kinds = [
        PrincipalKind::Aws,
        PrincipalKind::Service,
        PrincipalKind::Federated,
        PrincipalKind::CanonicalUser,
    ];
    let map = btree_set(0..4usize, 0..4).prop_flat_map(move |set| {
        let set: Vec<usize> = set.into_iter().collect();
        vec(strings(), set.len()).prop_map(move |values| {
            Principal::Map(
                set.iter()
                    .zip(values)
                    .map(|(&k, values)| PrincipalEntry {
                        kind: located(kinds[k]),
                        values,
                    })
                    .collect(),
            )
        })
    });
    (any::<bool>(), prop_oneof![Just(Principal::Wildcard), map]).prop_map(|(negated, value)| {
        PrincipalClause {
            negated,
            key_span: Span::default(),
            value: located(value),
        }
    })
}

fn statement() -> impl Strategy<Value = Statement<'static>> {
    (
        proptest::option::of(cow()),
        (
            any::<bool>(),
            prop_oneof![4 => Just(None), 1 => Just(Some("aLLow")), 1 => Just(Some("deny"))],
        ),
        proptest::option::of(principal()),
        proptest::option::of((any::<bool>(), strings())),
        proptest::option::of((any::<bool>(), strings())),
        proptest::option::of(condition()),
    )
        .prop_map(
            |(sid, (allow, spelling), principal, action, resource, condition)| Statement {
                span: Span::default(),
                sid: sid.map(located),
                // A miscased spelling decides the effect, as it does when parsed.
                effect: located(match spelling {
                    Some(s) if s.eq_ignore_ascii_case("allow") => Effect::Allow,
                    Some(_) => Effect::Deny,
                    None if allow => Effect::Allow,
                    None => Effect::Deny,
                }),
                effect_spelling: spelling.map(Cow::Borrowed),
                principal,
                action: action.map(|(negated, values)| ActionClause {
                    negated,
                    key_span: Span::default(),
                    values,
                }),
                resource: resource.map(|(negated, values)| ResourceClause {
                    negated,
                    key_span: Span::default(),
                    values,
                }),
                condition,
            },
        )
}

fn policy() -> impl Strategy<Value = Policy<'static>> {
    (
        proptest::option::of(prop_oneof![
            Just(Version::V2012_10_17),
            Just(Version::V2008_10_17)
        ]),
        proptest::option::of(cow()),
        prop_oneof![
            statement().prop_map(ValueList::single),
            vec(statement(), 1..4).prop_map(ValueList::list),
        ],
    )
        .prop_map(|(version, id, statements)| Policy {
            version: version.map(located),
            id: id.map(located),
            statements,
            statement_span: Span::default(),
            span: Span::default(),
            size_without_whitespace: 0,
            size: 0,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_then_parse_gives_an_equal_model(p in policy()) {
        for printed in [to_pretty(&p), to_compact(&p)] {
            let again = parse_policy(&printed);
            prop_assert!(again.is_ok(), "{printed}: {again:?}");
            prop_assert_eq!(again.unwrap(), p.clone(), "{}", printed);
        }
        // A single statement printed as a list stays a list, and the other way round.
        if p.statements.shape() == Shape::List {
            prop_assert!(to_compact(&p).contains("\"Statement\":["));
        }
    }
}
