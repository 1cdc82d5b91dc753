"""Voices: is there speech, and whose. Pure (no Django).

CAM++ (3D-Speaker's speech_campplus_sv_zh_en_16k-common_advanced, Apache-2.0), exported to
ONNX by scripts/export_campplus.py, run with onnxruntime on kaldi-native-fbank features
(80 mel bins, 16 kHz, no dither, per-utterance mean subtraction). Embeddings are L2-normalised
and compared by cosine similarity. The model loads once per process, lazily, under a lock.

No library refuses silence (CAM++ scores silence 0.47 against a real speaker), so this module
measures speech itself: frames must stand clearly above the recording's own quiet floor, and
stationary noise (no such contrast, or flat spectra) is refused. It does not trim audio with a
voice-activity detector before embedding (that made results worse); the check only refuses.
"""

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hostel.errors import DomainError

MODEL = "campplus-cn-en-common-onnx"
MODEL_PATH = Path(__file__).parent / "models" / "campplus_cn_en_common.onnx"
RATE = 16_000
# A speaker's recordings are over this cosine similarity to each other (CMU ARCTIC: 0.82 to
# 0.85 within a speaker, 0.29 to 0.44 across the two): how far enrolment recordings may differ.
SAME_PERSON = 0.5
DIMENSIONS = 192
FRAME, HOP = 400, 160  # 25 ms frames every 10 ms
SILENCE_DBFS = -50.0  # a frame quieter than this is silence, whatever else
SPEECH_ABOVE_FLOOR_DB = 12.0  # speech frames stand this far above the quiet floor
NOISE_FLATNESS = 0.45  # spectral flatness above this is hiss, not a voice
STEADY_SPEECH_DBFS = -30.0  # frames this loud count, even without pauses to compare with
# Measured on FSDD's 96 six-digit phrases: speech frames vary by at least 1.7 dB (tones and
# hums by under 0.3) and have a spectral flatness of at least 0.011 (a pure tone: 0.0001).
STEADY_STD_DB = 1.0  # speech rises and falls; a hum or tone does not
TONAL_FLATNESS = 0.002
# Counting talk (not deciding whether there is a voice): frames this far above the floor,
# and pauses up to this long between them.
ACTIVE_ABOVE_FLOOR_DB = 6.0
PAUSE_FRAMES = 30  # 300 ms
PITCH_LAGS = (40, 200)  # samples at 16 kHz: a voice's pitch between 80 and 400 Hz
VOICED_PERIODICITY = 0.4

_lock = threading.Lock()
_session: Any = None


class VoiceError(DomainError):
    """No usable speech; ``code`` says why ("silence", "noise", "too_short")."""


@dataclass(frozen=True)
class Match:
    index: int
    similarity: float
    runner_up: float | None


def _model() -> Any:
    global _session
    if _session is None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one request, one core; the web server has others
        _session = onnxruntime.InferenceSession(
            str(MODEL_PATH), options, providers=["CPUExecutionProvider"]
        )
    return _session


def speech_seconds(samples: np.ndarray) -> float:
    """Seconds of speech in 16 kHz mono ``samples`` (float, -1..1); raises VoiceError when
    there is none: silence, or steady noise."""
    if samples.size < FRAME:
        raise VoiceError("too_short", "The recording is too short.")
    count = 1 + (samples.size - FRAME) // HOP
    frames = np.lib.stride_tricks.as_strided(
        samples, shape=(count, FRAME), strides=(samples.strides[0] * HOP, samples.strides[0])
    )
    energy_db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    if energy_db.max() < SILENCE_DBFS:
        raise VoiceError("silence", "The recording is silent: nobody spoke.")
    # Loud frames: well above the recording's quiet floor, or above -30 dBFS when it has
    # hardly any pauses. Of those, voiced ones are not spectrally flat (hiss is).
    floor = np.percentile(energy_db, 10)
    level = max(min(floor + SPEECH_ABOVE_FLOOR_DB, STEADY_SPEECH_DBFS), SILENCE_DBFS)
    loud = energy_db > level
    if loud.sum() < 10 or np.std(energy_db[loud]) < STEADY_STD_DB:
        raise VoiceError(
            "noise",
            "The recording holds only noise or a steady sound, no voice. Speak close to the "
            "microphone.",
        )
    spectra = np.abs(np.fft.rfft(frames[loud] * np.hanning(FRAME), axis=1)) + 1e-9
    flatness = np.exp(np.mean(np.log(spectra), axis=1)) / np.mean(spectra, axis=1)
    if np.median(flatness) < TONAL_FLATNESS:
        raise VoiceError(
            "noise", "The recording holds a steady tone, no voice. Speak close to the microphone."
        )
    if not np.any(flatness < NOISE_FLATNESS):
        raise VoiceError(
            "noise", "The recording holds only noise, no voice. Speak close to the microphone."
        )
    return float(_talking(frames, energy_db, floor).sum() * HOP / RATE)


def _talking(frames: np.ndarray, energy_db: np.ndarray, floor: float) -> np.ndarray:
    """Which frames are talking, once the recording is known to hold a voice: voiced frames
    (periodic, as vocal folds make them) standing above the quiet floor, with the short
    pauses between them (up to PAUSE_FRAMES: consonants, breaths) counted in, as a listener
    counts them. Counting only the loudest frames that are not hiss, as before, found 0.4-0.7
    s in every second of read speech; counting every frame that is not hiss let the rumble of
    traffic or a fan pass for talk, which periodicity does not."""
    level = max(floor + ACTIVE_ABOVE_FLOOR_DB, SILENCE_DBFS)
    candidates = np.flatnonzero(energy_db > level)
    active = np.zeros(energy_db.size, dtype=bool)
    if candidates.size:
        active[candidates[_periodicity(frames[candidates]) >= VOICED_PERIODICITY]] = True
    on = np.flatnonzero(active)
    for start, end in itertools.pairwise(on.tolist()):
        if 1 < end - start <= PAUSE_FRAMES:
            active[start:end] = True
    return active


def _periodicity(frames: np.ndarray) -> np.ndarray:
    """Per frame, the highest normalised autocorrelation at a pitch lag (PITCH_LAGS), after
    pre-emphasis, which whitens rumble (whose raw autocorrelation stays high at every lag)."""
    emphasised = frames[:, 1:] - 0.97 * frames[:, :-1]
    emphasised = emphasised - emphasised.mean(axis=1, keepdims=True)
    size = emphasised.shape[1]
    spectrum = np.fft.rfft(emphasised, n=2 * size, axis=1)
    correlation = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :size]
    lags = np.arange(size)
    # Unbiased: each lag's sum over fewer products, scaled back up, as against lag 0.
    normalised = correlation / (correlation[:, :1] + 1e-12) * (size / (size - lags))
    low, high = PITCH_LAGS
    return normalised[:, low:high].max(axis=1)


def features(samples: np.ndarray) -> np.ndarray:
    import kaldi_native_fbank as knf

    options = knf.FbankOptions()
    options.frame_opts.samp_freq = RATE
    options.frame_opts.dither = 0.0
    options.mel_opts.num_bins = 80
    fbank = knf.OnlineFbank(options)
    fbank.accept_waveform(RATE, samples.astype(np.float32).tolist())
    fbank.input_finished()
    feats = np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])
    return (feats - feats.mean(axis=0, keepdims=True)).astype(np.float32)


def voice_embed(samples: np.ndarray, *, min_speech: float = 1.5) -> np.ndarray:
    """The unit-length speaker embedding of ``samples``, if they hold enough speech."""
    spoken = speech_seconds(samples)
    if spoken < min_speech:
        raise VoiceError(
            "too_short",
            f"Only {spoken:.1f} s of speech; at least {min_speech:g} s are needed.",
        )
    feats = features(samples)[None]
    with _lock:
        embedding = _model().run(None, {"features": feats})[0][0]
    return (embedding / np.linalg.norm(embedding)).astype(np.float32)


def similarity_to_samples(samples: list[np.ndarray], embedding: np.ndarray) -> float:
    """How alike ``embedding`` is to one person's ``samples``, for the same-person check
    (SAME_PERSON): to their centre (brought back to unit length), or the median of the
    similarities to each of them, whichever is less alike (face.distance_to_samples says
    why)."""
    centre = np.mean(samples, axis=0)
    centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
    return min(float(centre @ embedding), float(np.median(np.stack(samples) @ embedding)))


def voice_identify(
    probe: np.ndarray, gallery: np.ndarray, *, threshold: float, margin: float
) -> tuple[Match | None, Match | None]:
    """(accepted or None, best candidate or None) by cosine similarity (rows are unit length):
    accepted only above ``threshold`` and ``margin`` above the runner-up."""
    if gallery.size == 0:
        return None, None
    similarity = gallery @ probe
    order = np.argsort(-similarity)[:2]
    best = int(order[0])
    runner_up = float(similarity[order[1]]) if similarity.size > 1 else None
    candidate = Match(best, float(similarity[best]), runner_up)
    confident = candidate.similarity > threshold and (
        runner_up is None or candidate.similarity - runner_up >= margin
    )
    return (candidate if confident else None), candidate
