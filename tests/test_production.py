"""The production settings, in a process of their own as a server would start them."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """Static files collected once, as a deployment does before starting the servers."""
    static = tmp_path_factory.mktemp("static")
    env = production_env(static.parent, STATIC_ROOT=str(static))
    result = run(["manage.py", "collectstatic", "--noinput"], env)
    assert result.returncode == 0, result.stderr
    return static


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DJANGO_"))}
    return {
        **keep,
        "DEBUG": "false",
        "SECRET_KEY": "a production secret key that is long enough to be taken seriously",
        "LEDGER_HMAC_KEY": "a production ledger key",
        "ALLOWED_HOSTS": "testserver,gate.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hostel.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "DJANGO_SETTINGS_MODULE": "hostel.settings",
        **extra,
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def run_client(script: str, env: dict[str, str]) -> dict:
    """Run ``script`` with Django set up and a test ``client``; it prints one JSON object."""
    prelude = (
        "import django, json; django.setup(); "
        "from django.test import Client\n"
        "client = Client(headers={'X-Forwarded-Proto': 'https'}, raise_request_exception=False)\n"
    )
    result = run(["-c", prelude + script], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_gives_no_warning_at_all(tmp_path) -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_static_files_are_served_hashed_compressed_and_cached_for_a_year(
    tmp_path, collected
) -> None:
    env = production_env(tmp_path, STATIC_ROOT=str(collected))
    run(["manage.py", "migrate", "--noinput"], env)

    answer = run_client(
        "import re\n"
        "page = client.get('/login/').content.decode()\n"
        "css = re.search(r'href=\"(/static/css/base\\.[0-9a-f]{12}\\.css)\"', page).group(1)\n"
        "styled = client.get(css, HTTP_ACCEPT_ENCODING='gzip')\n"
        f"main = [p for p in __import__('pathlib').Path(r'{collected}').glob('js/scan/main.*.js')\n"
        "        if p.suffix == '.js' and len(p.name) > 12][0]\n"
        "module = client.get('/static/js/scan/' + main.name)\n"
        "print(json.dumps({'css': styled.status_code, 'cache': styled['Cache-Control'],\n"
        "  'encoding': styled.get('Content-Encoding', ''),\n"
        "  'module': b''.join(module.streaming_content).decode()}))",
        env,
    )

    assert answer["css"] == 200 and answer["encoding"] == "gzip"
    assert "max-age=315360000" in answer["cache"] and "immutable" in answer["cache"]
    # The ES modules import each other by their hashed names too.
    assert re.search(r'from "\./api\.[0-9a-f]{12}\.js"', answer["module"]), answer["module"][:400]


@pytest.mark.parametrize("path", ["/", "/residents/", "/api/residents", "/health"])
def test_pages_say_503_while_the_database_is_unreachable(tmp_path, collected, path) -> None:
    # Nothing listens on port 9 of this machine: every connection is refused at once.
    unreachable = "postgres://nobody:x@127.0.0.1:9/hostel"
    env = production_env(tmp_path, DATABASE_URL=unreachable, STATIC_ROOT=str(collected))

    answer = run_client(
        "client.cookies['sessionid'] = 'a' * 32\n"
        f"response = client.get({path!r})\n"
        "print(json.dumps({'status': response.status_code, 'type': response['Content-Type'],\n"
        "  'retry': response.get('Retry-After', ''), 'body': response.content.decode()[:2000]}))",
        env,
    )

    assert answer["status"] == 503, answer
    if path.startswith(("/api/", "/health")):
        assert answer["type"] == "application/json"
    else:
        assert "Unavailable for a moment" in answer["body"] and answer["retry"]


def test_health_is_503_until_migrations_are_applied(tmp_path) -> None:
    env = production_env(tmp_path)
    script = (
        "response = client.get('/health')\n"
        "print(json.dumps({**response.json(), 'http': response.status_code}))"
    )

    before = run_client(script, env)
    run(["manage.py", "migrate", "--noinput"], env)
    after = run_client(script, env)

    assert before["http"] == 503 and before["unapplied_migrations"] > 10
    assert after == {"status": "ok", "database": "sqlite", "http": 200}
