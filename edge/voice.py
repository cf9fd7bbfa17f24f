"""Spoken queue calls for the waiting-room display, synthesised offline with espeak-ng.

Each call is a two-tone chime followed by the Indonesian sentence, cached as one WAV file per phrase.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import wave
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

# Bump whenever the audio produced for the same phrase changes, so stale cache files are never served.
FORMAT_VERSION = 1
ESPEAK_TIMEOUT_S = 10.0
# espeak-ng's native rate; only used for the chime when espeak-ng cannot tell us.
DEFAULT_RATE = 22050
CHIME_TONES_HZ = (660.0, 550.0)
CHIME_TONE_S = 0.35
# The voice starts on its very first sample, so the chime carries the pause before it.
CHIME_TAIL_S = 0.2
CHIME_PEAK = 0.6
# Striped locks bound memory however many distinct phrases a day brings.
_LOCK_STRIPES = 16
_ON_PATH = object()


class VoiceError(RuntimeError):
    """espeak-ng could not produce speech for a call."""


def call_phrase(number: str, counter: int | str) -> str:
    """The sentence read aloud: every character of the number on its own, commas giving a pause between them."""
    characters = [c for c in str(number).upper() if c.isascii() and c.isalnum()]
    if not characters:
        raise ValueError(f"queue number {number!r} has nothing to read aloud")
    counter_text = str(counter).strip()
    if not counter_text:
        raise ValueError("counter is empty")
    return f"Nomor antrian, {', '.join(characters)}. Silakan ke loket {counter_text}."


def chime_samples(rate: int) -> list[int]:
    """A soft "ding-dong": each tone rises over a few ms (no click) and decays like a struck bell."""
    fade_in = int(rate * 0.005)
    fade_out = int(rate * 0.015)
    tone_len = int(rate * CHIME_TONE_S)
    samples: list[int] = []
    for freq in CHIME_TONES_HZ:
        for i in range(tone_len):
            t = i / rate
            envelope = math.exp(-t / 0.14) * min(1.0, i / fade_in, (tone_len - i) / fade_out)
            # A quiet octave partial makes the tone sound like a bell rather than a test signal.
            wave_value = 0.8 * math.sin(2 * math.pi * freq * t) + 0.2 * math.sin(4 * math.pi * freq * t)
            samples.append(round(32767 * CHIME_PEAK * envelope * wave_value))
    samples.extend([0] * int(rate * CHIME_TAIL_S))
    return samples


def _pcm16(samples: list[int]) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def _read_mono16(path: Path) -> tuple[int, bytes]:
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                bits = wav.getsampwidth() * 8
                raise VoiceError(f"espeak-ng wrote {wav.getnchannels()} channels of {bits}-bit audio, not 16-bit mono")
            return wav.getframerate(), wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise VoiceError(f"espeak-ng wrote an unreadable WAV: {exc}") from exc


class VoiceCaller:
    """Produces and caches the WAV file the display board plays for each call."""

    def __init__(self, cache_dir: Path, espeak: str | None | object = _ON_PATH, voice: str = "id", speed: int = 150):
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        found = shutil.which("espeak-ng") if espeak is _ON_PATH else espeak
        self.espeak: str | None = found  # type: ignore[assignment]
        self.voice = voice
        self.speed = int(speed)
        self._probe_lock = threading.Lock()
        self._probed: bool | None = None
        self._rate = DEFAULT_RATE
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    @property
    def available(self) -> bool:
        """espeak-ng exists and speaks the voice; checked once, on first use."""
        with self._probe_lock:
            if self._probed is None:
                self._probed = self._probe()
            return self._probed

    def _probe(self) -> bool:
        if not self.espeak:
            return False
        try:
            rate, frames = self._synthesise("satu")
        except VoiceError as exc:
            log.warning("spoken calls disabled, only the chime will play: %s", exc)
            return False
        self._rate = rate
        return len(frames) > 0

    def chime_path(self) -> Path:
        """The chime alone, at the rate espeak-ng speaks so it can be joined to speech without resampling."""
        rate = self._rate if self.available else DEFAULT_RATE
        path = self.cache_dir / f"chime-v{FORMAT_VERSION}-{rate}.wav"
        if not path.exists():
            with self._lock_for(path.name):
                if not path.exists():
                    self._write_atomically(path, rate, _pcm16(chime_samples(rate)))
        return path

    def call_audio(self, number: str, counter: int | str) -> Path:
        """The chime then the spoken call, as one WAV; only the chime when espeak-ng is missing."""
        phrase = call_phrase(number, counter)
        if not self.available:
            return self.chime_path()
        path = self.cache_dir / f"call-{self._cache_key(phrase)}.wav"
        # A file only appears under its final name once complete, so existing means ready to serve.
        if path.exists():
            return path
        with self._lock_for(path.name):
            if not path.exists():
                rate, speech = self._synthesise(phrase)
                self._write_atomically(path, rate, _pcm16(chime_samples(rate)) + speech)
        return path

    def warm(self, numbers_and_counters: Iterable[tuple[str, int | str]]) -> int:
        """Prepare calls ahead of time so the first calls of the day play without delay; returns how many are ready."""
        ready = 0
        for number, counter in numbers_and_counters:
            try:
                self.call_audio(number, counter)
                ready += 1
            except (VoiceError, ValueError, OSError) as exc:
                log.warning("could not prepare the call for %s at counter %s: %s", number, counter, exc)
        return ready

    def _cache_key(self, phrase: str) -> str:
        material = f"{FORMAT_VERSION}\n{self.voice}\n{self.speed}\n{phrase}"
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]

    def _lock_for(self, name: str) -> threading.Lock:
        stripe = int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:8], 16) % _LOCK_STRIPES
        return self._locks[stripe]

    def _synthesise(self, text: str) -> tuple[int, bytes]:
        """Run espeak-ng into a temp file of the cache directory and return (rate, 16-bit mono frames)."""
        fd, tmp_name = tempfile.mkstemp(dir=self.cache_dir, prefix=".speech-", suffix=".wav")
        os.close(fd)
        tmp = Path(tmp_name)
        # "--" keeps any text from being taken for an option.
        args = [str(self.espeak), "-v", self.voice, "-s", str(self.speed), "-w", str(tmp), "--", text]
        try:
            result = subprocess.run(args, capture_output=True, timeout=ESPEAK_TIMEOUT_S, check=False)
            if result.returncode != 0:
                stderr = result.stderr.decode("utf-8", "replace").strip()
                raise VoiceError(f"espeak-ng exited with {result.returncode}: {stderr or 'no message'}")
            rate, frames = _read_mono16(tmp)
            if not frames:
                raise VoiceError("espeak-ng produced no audio")
            return rate, frames
        except subprocess.TimeoutExpired as exc:
            raise VoiceError(f"espeak-ng took longer than {ESPEAK_TIMEOUT_S:g} s") from exc
        except OSError as exc:
            raise VoiceError(f"espeak-ng could not run: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def _write_atomically(self, path: Path, rate: int, frames: bytes) -> None:
        fd, tmp_name = tempfile.mkstemp(dir=self.cache_dir, prefix=".write-", suffix=".wav")
        try:
            with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(rate)
                wav.writeframes(frames)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
