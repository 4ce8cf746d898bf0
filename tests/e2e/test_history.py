"""Managed-policy updates through real clients: the aws CLI and boto3 see every recorded
version of a provider policy, the same versions `gatehouse policy history` reports, and the
change feeds parse with feedparser."""

import datetime
import json
import subprocess
import urllib.request

import feedparser

from conftest import gatehouse_binary

Q_FULL = "arn:aws:iam::aws:policy/AmazonQFullAccess"


def history(name: str) -> list:
    out = subprocess.run(
        [str(gatehouse_binary()), "policy", "history", "--format", "json", name],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def instant(ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)


def parsed(text: str) -> datetime.datetime:
    """The CLI prints IAM's wire form (`...Z`); boto3 gives datetimes."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_cli_lists_every_recorded_version_with_awss_dates(server):
    listed = server.aws_json("iam", "list-policy-versions", "--policy-arn", Q_FULL)["Versions"]
    recorded = history("AmazonQFullAccess")
    assert [v["VersionId"] for v in listed] == [c["VersionId"] for c in reversed(recorded)]
    assert [v["VersionId"] for v in listed] == ["v12", "v11", "v9", "v7", "v6", "v5", "v4", "v3", "v2", "v1"]
    assert [v["IsDefaultVersion"] for v in listed] == [True] + [False] * 9
    assert [parsed(v["CreateDate"]) for v in listed] == [instant(c["CreatedAt"]) for c in reversed(recorded)]


def test_cli_gets_an_old_version_as_aws_published_it(server):
    v1 = server.aws_json("iam", "get-policy-version", "--policy-arn", Q_FULL, "--version-id", "v1")["PolicyVersion"]
    assert parsed(v1["CreateDate"]) == parsed("2023-11-28T16:00:24Z")
    assert v1["Document"]["Statement"][0]["Action"] == ["q:*"] or v1["Document"]["Statement"][0]["Action"] == "q:*"


def test_boto3_pages_through_readonlyaccess_versions(server):
    iam = server.client("iam")
    ids = [v["VersionId"] for page in iam.get_paginator("list_policy_versions").paginate(
        PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess") for v in page["Versions"]]
    assert len(ids) == 151
    assert ids[0] == "v188" and ids[-1] == "v1"


def fetch(server, path: str):
    with urllib.request.urlopen(server.url + path, timeout=30) as r:
        assert r.status == 200
        return r.headers.get("Content-Type", ""), r.read()


def test_policy_feeds_parse_and_list_real_changes_newest_first(server):
    recorded = history("AmazonQFullAccess")
    real = [c for c in reversed(recorded) if c["Classification"] != "NoChange"]
    for ext, kind in ((".atom", "atom"), (".rss", "rss")):
        ctype, body = fetch(server, f"/feeds/policies/AmazonQFullAccess{ext}")
        assert kind in ctype
        feed = feedparser.parse(body)
        assert not feed.bozo, feed.bozo_exception
        versions = [e.title.split(":")[0] for e in feed.entries]
        assert versions == [f"AmazonQFullAccess {c['VersionId']}" for c in real]
        assert "v9" not in " ".join(versions) and "v11" not in " ".join(versions)
        ids = [e.id for e in feed.entries]
        assert ids == [f"urn:gatehouse:managed-policy-version:{Q_FULL}:{c['VersionId']}" for c in real]


def test_the_global_feed_is_newest_first(server):
    for ext in (".atom", ".rss"):
        _, body = fetch(server, f"/feeds/managed-policies{ext}")
        feed = feedparser.parse(body)
        assert not feed.bozo, feed.bozo_exception
        assert 0 < len(feed.entries) <= 100
        dates = [e.published_parsed for e in feed.entries]
        assert dates == sorted(dates, reverse=True)
