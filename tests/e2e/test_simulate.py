"""The policy simulator: SimulateCustomPolicy on supplied documents, and SimulatePrincipalPolicy
with context entries and resources."""

import pytest

from conftest import allow, deny, new_user, policy_doc

PASS_ROLE_TO_Q = policy_doc(
    allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "q.amazonaws.com"}})
)


def decisions(out):
    return [(r["EvalActionName"], r["EvalDecision"]) for r in out["EvaluationResults"]]


def test_simulate_custom_policy_decides_each_action(server):
    out = server.iam().simulate_custom_policy(
        PolicyInputList=[policy_doc(allow("s3:GetObject"))], ActionNames=["s3:GetObject", "s3:PutObject"]
    )
    assert decisions(out) == [("s3:GetObject", "allowed"), ("s3:PutObject", "implicitDeny")]


def test_simulate_custom_policy_explicit_deny_wins(server):
    out = server.iam().simulate_custom_policy(
        PolicyInputList=[policy_doc(allow("s3:*")), policy_doc(deny("s3:DeleteObject"))],
        ActionNames=["s3:GetObject", "s3:DeleteObject"],
    )
    assert decisions(out) == [("s3:GetObject", "allowed"), ("s3:DeleteObject", "explicitDeny")]
    denying = out["EvaluationResults"][1]["MatchedStatements"]
    assert [m["SourcePolicyId"] for m in denying] == ["PolicyInputList.2"]


def test_simulate_custom_policy_reports_missing_context_and_uses_given_context(server):
    iam = server.iam()
    missing = iam.simulate_custom_policy(PolicyInputList=[PASS_ROLE_TO_Q], ActionNames=["iam:PassRole"])
    assert missing["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    assert missing["EvaluationResults"][0]["MissingContextValues"] == ["iam:PassedToService"]
    given = iam.simulate_custom_policy(
        PolicyInputList=[PASS_ROLE_TO_Q],
        ActionNames=["iam:PassRole"],
        ContextEntries=[{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": ["q.amazonaws.com"], "ContextKeyType": "string"}],
    )
    assert given["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_simulate_custom_policy_with_a_boundary(server):
    out = server.iam().simulate_custom_policy(
        PolicyInputList=[policy_doc(allow("s3:*"))],
        PermissionsBoundaryPolicyInputList=[policy_doc(allow("s3:GetObject"))],
        ActionNames=["s3:GetObject", "s3:PutObject"],
    )
    assert decisions(out) == [("s3:GetObject", "allowed"), ("s3:PutObject", "implicitDeny")]


def test_simulate_custom_policy_per_resource(server):
    out = server.iam().simulate_custom_policy(
        PolicyInputList=[policy_doc(allow("s3:GetObject", "arn:aws:s3:::open/*"))],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::open/a", "arn:aws:s3:::closed/a"],
    )
    by_resource = {r["EvalResourceName"]: r["EvalDecision"] for r in out["EvaluationResults"]}
    assert by_resource == {"arn:aws:s3:::open/a": "allowed", "arn:aws:s3:::closed/a": "implicitDeny"}


def test_simulate_custom_policy_with_an_invalid_document_is_an_error(server):
    iam = server.iam()
    with pytest.raises((iam.exceptions.InvalidInputException, iam.exceptions.MalformedPolicyDocumentException)):
        iam.simulate_custom_policy(PolicyInputList=['{"Version": "2012-10-17", "Statement": ['], ActionNames=["s3:GetObject"])


def test_cli_simulate_custom_policy(server):
    # The document inline: `--policy-input-list file://p.json` makes CLI v1 split the file's text
    # into several list members (the list argument is parsed after the file is read).
    out = server.aws_json(
        "iam", "simulate-custom-policy", "--policy-input-list", policy_doc(allow("q:SendMessage")),
        "--action-names", "q:SendMessage", "q:CreatePlugin",
    )
    assert decisions(out) == [("q:SendMessage", "allowed"), ("q:CreatePlugin", "implicitDeny")]


# --- SimulatePrincipalPolicy (implemented) -----------------------------------------------------


def test_simulate_principal_policy_reports_missing_context(server):
    user, _ = new_user(server)
    out = server.iam().simulate_principal_policy(
        PolicySourceArn=server.arn("user", user), PolicyInputList=[PASS_ROLE_TO_Q], ActionNames=["iam:PassRole"]
    )
    r = out["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny"
    assert r["MissingContextValues"] == ["iam:PassedToService"]


def test_simulate_principal_policy_with_context_entries_allows(server):
    user, _ = new_user(server)
    out = server.iam().simulate_principal_policy(
        PolicySourceArn=server.arn("user", user),
        PolicyInputList=[PASS_ROLE_TO_Q],
        ActionNames=["iam:PassRole"],
        ContextEntries=[{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": ["q.amazonaws.com"], "ContextKeyType": "string"}],
    )
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_simulate_principal_policy_of_a_missing_user_is_no_such_entity(server):
    iam = server.iam()
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.simulate_principal_policy(PolicySourceArn=server.arn("user", "no-such-user"), ActionNames=["s3:GetObject"])


def test_simulate_principal_policy_sees_the_users_inline_policy(server):
    user, _ = new_user(server, policy_doc(deny("q:*")), managed=["arn:aws:iam::aws:policy/AmazonQDeveloperAccess"])
    out = server.iam().simulate_principal_policy(PolicySourceArn=server.arn("user", user), ActionNames=["q:SendMessage"])
    assert decisions(out) == [("q:SendMessage", "explicitDeny")]


def test_cli_simulate_principal_policy_with_context_entries(server):
    user, _ = new_user(server)
    out = server.aws_json(
        "iam", "simulate-principal-policy",
        "--policy-source-arn", server.arn("user", user),
        "--policy-input-list", PASS_ROLE_TO_Q,
        "--action-names", "iam:PassRole",
        "--context-entries", "ContextKeyName=iam:PassedToService,ContextKeyValues=q.amazonaws.com,ContextKeyType=string",
    )
    assert decisions(out) == [("iam:PassRole", "allowed")]
