"""The `gatehouse serve` process itself: health, the root credentials file, a restart that keeps
the account, and a clean exit on SIGTERM."""

import os
import stat
import subprocess
import urllib.request

import pytest

from conftest import BACKENDS, _sql, fresh_postgres_database, start_server, uniq


@pytest.fixture(params=BACKENDS)
def fresh(request, tmp_path):
    """A data directory and, on PostgreSQL, a fresh database, for tests that start servers."""
    database = None
    if request.param == "postgres":
        admin = os.environ.get("GATEHOUSE_TEST_POSTGRES_URL")
        if not admin:
            pytest.skip("no PostgreSQL: GATEHOUSE_TEST_POSTGRES_URL is unset (scripts/test and scripts/e2e start one)")
        database, name = fresh_postgres_database(admin)
        yield tmp_path, database, request.param
        _sql(admin, f"DROP DATABASE IF EXISTS {name}")
    else:
        yield tmp_path, None, request.param


def test_healthz_answers_200(server):
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as r:
        assert r.status == 200


def test_root_credentials_file_is_readable_by_its_owner_only(server):
    mode = stat.S_IMODE((server.home / "data" / "root-credentials.json").stat().st_mode)
    assert mode == 0o600


def test_root_access_key_is_an_akia_key(server):
    assert server.root.key.startswith("AKIA") and len(server.root.key) == 20
    assert len(server.root.secret) == 40
    assert len(server.account_id) == 12 and server.account_id.isdigit()


def test_restart_keeps_the_account_its_credentials_and_its_users(fresh):
    home, database, backend = fresh
    first, proc = start_server(home, database, backend)
    name = uniq("kept")
    first.iam().create_user(UserName=name)
    assert proc.stop() == 0
    second, proc = start_server(home, database, backend)
    try:
        assert (second.account_id, second.root) == (first.account_id, first.root)
        assert second.iam().get_user(UserName=name)["User"]["UserName"] == name
    finally:
        proc.stop()


def test_sigterm_stops_the_server_with_status_0(fresh):
    home, database, backend = fresh
    server, proc = start_server(home, database, backend)
    server.sts().get_caller_identity()
    assert proc.stop() == 0, proc.output()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url + "/healthz", timeout=2)


def test_serve_with_an_unreachable_database_exits_with_an_error(tmp_path):
    from conftest import free_port, gatehouse_binary

    p = subprocess.run(
        [str(gatehouse_binary()), "serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(tmp_path / "d"),
         "--database", f"postgres://nobody@127.0.0.1:{free_port()}/none"],
        capture_output=True, text=True, timeout=120,
    )
    assert p.returncode != 0
    assert p.stderr.strip(), "it says why"
