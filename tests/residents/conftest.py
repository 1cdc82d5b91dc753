"""Fixtures for residents: real photos, generated audio, users in each role."""

import io
import math
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from residents import services, uploads
from residents.models import Gate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PASSWORD = "correct horse battery staple"


def photo_bytes(name: str = "obama_640x480.jpg") -> bytes:
    return (FIXTURES / "faces" / name).read_bytes()


def tone_wav(seconds: float, *, rate: int = 16_000, silent: bool = False) -> bytes:
    """A real WAV file: a voice-like warbling tone (or silence) of the given length."""
    t = np.arange(int(seconds * rate)) / rate
    if silent:
        samples = np.zeros_like(t)
    else:
        samples = 0.3 * np.sin(2 * math.pi * (180 + 40 * np.sin(2 * math.pi * 3 * t)) * t)
    return uploads.wav_bytes((samples * 32767).astype(np.int16), rate)


def speech_wav(name: str = "aew_a0001") -> bytes:
    """A real spoken sentence (CMU ARCTIC, 16 kHz WAV)."""
    return (FIXTURES / "voices" / f"{name}.wav").read_bytes()


def webm_opus(name: str = "aew_a0001") -> bytes:
    """Encode a real sentence as webm/opus, the container Chromium's MediaRecorder writes."""
    from residents import uploads

    speech = uploads.voice_normalise(speech_wav(name)).samples
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as container:
        stream = container.add_stream("libopus", rate=48_000)
        stream.layout = "mono"
        samples = (np.repeat(speech, 3) * 32767).astype(np.int16)  # 16 kHz -> 48 kHz
        for start in range(0, samples.size, 960):
            frame = av.AudioFrame.from_ndarray(
                samples[start : start + 960].reshape(1, -1), format="s16", layout="mono"
            )
            frame.rate = 48_000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def client_for(user: User) -> Client:
    """A test client logged in as ``user``."""
    client = Client()
    client.force_login(user)
    return client


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    def make(username: str, role: str | None = None, **extra) -> User:
        user = User.objects.create_user(username, password=PASSWORD, **extra)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def warden(make_user) -> User:
    return make_user("wendy", "wardens")


@pytest.fixture
def guard(make_user) -> User:
    return make_user("gary", "guards")


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


@pytest.fixture
def resident(warden):
    return services.resident_register(
        by=warden,
        name="Ada Okafor",
        room="B-214",
        floor=2,
        email="ada@example.org",
        phone="+234 801 234 5678",
        photos=[uploads.photo_enrol(photo_bytes())],
    )


@pytest.fixture
def main_gate(db) -> Gate:
    return Gate.objects.get(slug="main")
