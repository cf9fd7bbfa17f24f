"""Spoken calls with the real espeak-ng: phrases, the chime, the cache and concurrent requests."""

from __future__ import annotations

import shutil
import struct
import threading
import wave
from pathlib import Path

import pytest

from edge.voice import VoiceCaller, call_phrase

if shutil.which("espeak-ng") is None:
    pytest.fail(
        "espeak-ng is not installed; `make test` installs it (apt-get install -y espeak-ng)",
        pytrace=False,
    )


def read_wav(path: Path) -> tuple[wave._wave_params, list[int]]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        frames = wav.readframes(wav.getnframes())
    return params, list(struct.unpack(f"<{len(frames) // 2}h", frames))


def duration(path: Path) -> float:
    params, _ = read_wav(path)
    return params.nframes / params.framerate


def cached_files(cache_dir: Path) -> set[str]:
    return {p.name for p in cache_dir.iterdir()}


@pytest.fixture
def caller(tmp_path) -> VoiceCaller:
    return VoiceCaller(tmp_path / "voice")


@pytest.mark.parametrize(
    ("number", "counter", "phrase"),
    [
        ("A007", 1, "Nomor antrian, A, 0, 0, 7. Silakan ke loket 1."),
        ("B012", 2, "Nomor antrian, B, 0, 1, 2. Silakan ke loket 2."),
        ("A1000", "3", "Nomor antrian, A, 1, 0, 0, 0. Silakan ke loket 3."),
    ],
)
def test_call_phrase_reads_each_character(number, counter, phrase):
    assert call_phrase(number, counter) == phrase


def test_call_phrase_rejects_an_empty_number():
    with pytest.raises(ValueError):
        call_phrase(" - ", 1)


def test_chime_is_a_clean_audible_mono_wav(caller):
    params, samples = read_wav(caller.chime_path())
    assert params.nchannels == 1
    assert params.sampwidth == 2
    assert 0.5 <= params.nframes / params.framerate <= 1.5
    assert max(abs(s) for s in samples) > 10000
    assert abs(samples[0]) < 1000


def test_call_is_chime_then_speech_and_is_cached(caller):
    assert caller.available
    chime = caller.chime_path()
    call = caller.call_audio("A007", 1)

    call_params, _ = read_wav(call)
    chime_params, _ = read_wav(chime)
    assert call_params.framerate == chime_params.framerate
    assert call_params.nchannels == 1 and call_params.sampwidth == 2
    assert duration(call) >= duration(chime) + 1.5

    files_before, mtime_before = cached_files(caller.cache_dir), call.stat().st_mtime_ns
    assert caller.call_audio("A007", 1) == call
    assert call.stat().st_mtime_ns == mtime_before
    assert cached_files(caller.cache_dir) == files_before


def test_cached_call_is_served_without_espeak(caller):
    call = caller.call_audio("A007", 1)
    # Any further synthesis would now fail, so a returned path proves the cache answered.
    caller.espeak = "/bin/false"
    assert caller.call_audio("A007", 1) == call


def test_each_counter_gets_its_own_file(caller):
    assert caller.call_audio("A007", 1) != caller.call_audio("A007", 2)


def test_concurrent_requests_share_one_complete_file(caller):
    assert caller.available
    chime = caller.chime_path()
    barrier = threading.Barrier(8)
    results: list[Path] = []
    errors: list[BaseException] = []

    def request():
        try:
            barrier.wait()
            results.append(caller.call_audio("B012", 2))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 8 and len(set(results)) == 1
    assert duration(results[0]) >= duration(chime) + 1.5
    assert cached_files(caller.cache_dir) == {results[0].name, chime.name}


def test_warm_prepares_calls_and_skips_bad_ones(caller):
    assert caller.warm([("A001", 1), ("", 1), ("A002", 1)]) == 2
    assert caller.call_audio("A001", 1).exists()


def test_without_espeak_only_the_chime_plays(tmp_path):
    caller = VoiceCaller(tmp_path, espeak=None)
    assert not caller.available
    assert caller.call_audio("A007", 1) == caller.chime_path()


@pytest.mark.parametrize("espeak", ["/bin/false", "/nonexistent/espeak-ng"])
def test_broken_espeak_is_not_available(tmp_path, espeak):
    caller = VoiceCaller(tmp_path, espeak=espeak)
    assert not caller.available
    assert caller.call_audio("A007", 1) == caller.chime_path()
    assert cached_files(tmp_path) == {caller.chime_path().name}


def test_unknown_voice_is_not_available(tmp_path):
    assert not VoiceCaller(tmp_path, voice="zz-none").available
