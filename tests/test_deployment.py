"""Several app servers on one PostgreSQL, as the design deploys them behind a load balancer:
two gunicorn instances on two ports, and a round-robin client standing in for the balancer."""

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection

from bench.servers import ROOT, AppServer
from ledger.models import Block
from ledger.verification import chain_verify
from residents import passes, services
from residents.models import Resident, ScanRequest
from tests.conftest import APP_ROLE
from tests.residents.conftest import PASSWORD, photo_bytes

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def server_env(media: Path, static: Path) -> dict[str, str]:
    """Production settings against this test database, as the application's role."""
    db = connection.settings_dict
    options = quote(f"-c role={APP_ROLE} -c lock_timeout=10000")
    host = db["OPTIONS"].get("host") or db["HOST"]
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@/{db['NAME']}?host={host}"
    return {
        "DEBUG": "false",
        "DATABASE_URL": f"{url}&options={options}",
        "SECRET_KEY": settings.SECRET_KEY,
        "LEDGER_HMAC_KEY": settings.LEDGER_HMAC_KEYS[settings.LEDGER_SIGNING_KEY_ID],
        "LEDGER_HMAC_KEY_ID": settings.LEDGER_SIGNING_KEY_ID,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "MEDIA_ROOT": str(media),  # shared storage, as several machines would mount it
        "STATIC_ROOT": str(static),
        "THROTTLE_SCAN": "100000/min",
        "THROTTLE_USER": "100000/min",
        "SCAN_DEBOUNCE_SECONDS": "0",
        "FACE_LIVENESS": "false",  # these gates take one still (liveness: test_liveness_scans)
    }


@pytest.fixture(scope="module")
def static(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("static")
    env = {
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "LEDGER_HMAC_KEY": "y",
        "STATIC_ROOT": str(folder),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env={**__import__("os").environ, **env},
        check=True,
        capture_output=True,
    )
    return folder


@pytest.fixture
def servers(migration_data, tmp_path, static) -> Iterator[list[AppServer]]:
    env = server_env(tmp_path / "media", static)
    pair = [
        AppServer(env, workers=1, threads=4).start(),
        AppServer(env, workers=1, threads=4).start(),
    ]
    yield pair
    for server in pair:
        server.stop()


@pytest.fixture(autouse=True)
def _real_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture
def gary(migration_data) -> User:
    user = User.objects.create_user("gary", password=PASSWORD)
    user.groups.add(Group.objects.get(name="guards"))
    return user


@pytest.fixture
def wendy(migration_data) -> User:
    user = User.objects.create_user("wendy", password=PASSWORD)
    user.groups.add(Group.objects.get(name="wardens"))
    return user


def bearer(server: AppServer, username: str) -> dict[str, str]:
    answer = requests.post(
        server.url + "/api/token", json={"username": username, "password": PASSWORD}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access']}"}


def test_a_token_and_a_session_from_one_server_work_on_the_other(servers, gary) -> None:
    first, second = servers
    assert requests.get(second.url + "/api/residents", headers=bearer(first, "gary"), timeout=10).ok

    browser = requests.Session()
    page = browser.get(first.url + "/login/", timeout=10).text
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found is not None
    token = found.group(1)
    browser.post(
        first.url + "/login/",
        data={"username": "gary", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": first.url + "/login/"},
        timeout=10,
    )
    dashboard = browser.get(second.url + "/", timeout=10, allow_redirects=False)

    assert dashboard.status_code == 200 and "Dashboard" in dashboard.text


def test_scans_through_both_servers_interleave_into_one_valid_chain(servers, gary, wendy) -> None:
    residents = [
        services.resident_register(by=wendy, name=f"Resident {n}", room=f"R-{n}") for n in range(20)
    ]
    headers = [bearer(server, "gary") for server in servers]
    balancer = itertools.cycle(range(2))
    jobs = [(next(balancer), resident) for resident in residents for _ in range(3)]

    def scan(job: tuple[int, Resident]) -> tuple[int, int]:
        which, resident = job
        body = {"mode": "qr", "token": passes.pass_token(resident.pk, resident.pass_version)}
        answer = requests.post(
            servers[which].url + "/api/scan", json=body, headers=headers[which], timeout=30
        )
        return which, answer.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(scan, jobs))

    assert [status for _, status in answers] == [201] * 60
    assert {which for which, _ in answers} == {0, 1}
    assert Block.objects.filter(type="scan").count() == 60
    report = chain_verify()
    assert report.valid, report.problems[:5]
    for resident in residents:  # three toggles each: IN, OUT, IN
        assert Resident.objects.get(pk=resident.pk).status == "IN"


def test_a_face_enrolled_through_one_server_is_identified_through_the_other(
    servers, gary, wendy
) -> None:
    first, second = servers

    def face_scan() -> requests.Response:
        return requests.post(
            second.url + "/api/scan",
            data={"mode": "face"},
            files={"photo": ("probe.jpg", photo_bytes("obama_2.jpg"), "image/jpeg")},
            headers=bearer(second, "gary"),
            timeout=60,
        )

    assert face_scan().status_code == 404  # nobody enrolled yet: its gallery is loaded empty
    registered = requests.post(
        first.url + "/api/register",
        data={"name": "Barack", "room": "W-1"},
        files={"photo": ("face.jpg", photo_bytes("obama_640x480.jpg"), "image/jpeg")},
        headers=bearer(first, "wendy"),
        timeout=60,
    )
    assert registered.status_code == 201, registered.text

    scanned = face_scan()

    assert scanned.status_code == 201, scanned.text
    assert scanned.json()["event"]["resident_id"] == registered.json()["id"]


def test_every_acknowledged_scan_survives_killed_workers_and_a_killed_server(
    migration_data, tmp_path, static, gary, wendy
) -> None:
    """Clients keep scanning while a worker is SIGKILLed, then the master and all its
    workers; each retries a scan that got no answer with the same scan id (as the scan page
    does), against whichever server is up. Every scan that was answered 201 is in the ledger
    exactly once, nothing else is, and the chain verifies."""
    residents = [
        services.resident_register(by=wendy, name=f"Resident {n}", room=f"R-{n}") for n in range(12)
    ]
    env = server_env(tmp_path / "media", static)
    current = {"server": AppServer(env, workers=2, threads=1).start()}
    acknowledged: list[str] = []
    unanswered = [0]
    lock = threading.Lock()

    def client(mine: list[Resident]) -> None:
        session = requests.Session()
        token = None
        for n in range(15):
            resident = mine[n % len(mine)]
            body = {
                "mode": "qr",
                "token": passes.pass_token(resident.pk, resident.pass_version),
                "scan_id": str(uuid.uuid4()),
            }
            for _attempt in range(200):  # until answered: a crash is not an answer
                url = current["server"].url
                try:
                    if token is None:
                        token = bearer_from(url)
                    answer = session.post(
                        url + "/api/scan",
                        json=body,
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=10,
                    )
                except (requests.RequestException, OSError):
                    unanswered[0] += 1
                    time.sleep(0.1)
                    continue
                if answer.status_code >= 500:
                    unanswered[0] += 1
                    time.sleep(0.1)
                    continue
                assert answer.status_code == 201, answer.text
                with lock:
                    acknowledged.append(body["scan_id"])
                break

    threads = [threading.Thread(target=client, args=(residents[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()

    def wait_for(count: int) -> None:
        while len(acknowledged) < count and any(t.is_alive() for t in threads):
            time.sleep(0.002)

    wait_for(15)
    os.kill(current["server"].worker_pids()[0], signal.SIGKILL)  # one worker dies mid-load
    wait_for(35)
    current["server"].kill()  # the master and every worker, at once
    current["server"] = AppServer(env, workers=2, threads=1).start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(acknowledged) == 60 and len(set(acknowledged)) == 60
    assert unanswered[0] > 0  # the crashes did cut requests off
    recorded = set(ScanRequest.objects.values_list("scan_id", flat=True))
    assert {uuid.UUID(s) for s in acknowledged} == recorded
    assert Block.objects.filter(type="scan").count() == 60  # each exactly once
    assert chain_verify().valid
    current["server"].stop()


def bearer_from(url: str) -> str:
    answer = requests.post(
        url + "/api/token", json={"username": "gary", "password": PASSWORD}, timeout=10
    )
    answer.raise_for_status()
    return str(answer.json()["access"])
