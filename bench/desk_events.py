"""What a busy front desk writes to its outbox, for the sync benches: per visit its ticket, the guestbook check-in,
the start of service and (four visits in five) a rating; one visit in 25 also brings a complaint, later closed.
Payloads have the shapes the appliance's services give them (edge/tickets.py, edge/visits.py, edge/calls.py,
edge/ratings.py, edge/complaints.py), with varied names and answers so gzip sees realistic text.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from pst.clock import iso
from pst.ids import new_id
from pst.skm import TRACKING_ALPHABET, age_band

FIRST = ("Siti", "Andi", "Muhammad", "Nur", "Dewi", "La Ode", "Wa Ode", "Ahmad", "Rina", "Budi", "Fitri", "Hasan",
         "Sri", "Rahmat", "Yuli", "Agus", "Putri", "Irfan", "Ayu", "Made", "Ketut", "Yusuf", "Lestari", "Hendra")
LAST = ("Rahmawati", "Saputra", "Hidayat", "Wulandari", "Kurniawan", "Pratama", "Sari", "Halim", "Ramadhan",
        "Tamburaka", "Lakidende", "Nasution", "Siregar", "Setiawan", "Anggraini", "Syahputra", "Mokodompit")
INSTITUTIONS = ("Dinas Kesehatan", "Universitas Halu Oleo", "Bappeda Provinsi", "SMA Negeri 1 Kendari", "Bank Sultra",
                "Dinas Pendidikan", "IAIN Kendari", "Kantor Pos", "Kendari Pos", None)
EDUCATION = ("sma", "diploma", "s1", "s2", "s3")
OCCUPATIONS = ("pelajar", "peneliti", "asn", "bumn", "swasta", "wiraswasta", "jurnalis", "lainnya")
PURPOSES = ("baca_tercetak", "pustaka_digital", "pindai", "softcopy", "lainnya")
COMMENTS = ("Pelayanan cepat dan ramah.", "Ruang baca perlu AC yang lebih dingin.", "Terima kasih, data lengkap.",
            "Wifi kadang putus.", "Petugas sangat membantu mencari publikasi lama.")
COMPLAINTS = ("Antrian terlalu lama pada jam istirahat.", "Mesin pindai tidak berfungsi sejak pagi.",
              "Publikasi Kabupaten Dalam Angka 2019 tidak ada di rak.", "Softcopy yang diminta belum dikirim.")
VISIT_EVERY = timedelta(seconds=90)


def events(start: datetime, seed: int = 7400, office_code: str = "7400") -> Iterator[tuple]:
    """Endless, in the order the desk writes them: (time, entity, entity_id, op, payload)."""
    rng = random.Random(seed)
    now, n = start, 0
    while True:
        n += 1
        now += VISIT_EVERY
        ms = int(now.timestamp() * 1000)
        ticket_id, visit_id = new_id(ms), new_id(ms)
        day, number = now.date().isoformat(), n % 999 + 1
        yield now, "ticket", ticket_id, "issued", {
            "id": ticket_id, "service": "A", "service_day": day, "seq": number, "number": f"A{number:03d}",
            "issued_at": iso(now), "source": "kiosk", "status": "waiting", "print_status": "pending",
            "print_attempts": 0, "printed_at": None, "print_error": None, "counter": None, "called_at": None,
            "call_count": 0, "serving_at": None, "done_at": None, "skipped_at": None,
        }
        first, last = rng.choice(FIRST), rng.choice(LAST)
        profile = {"gender": rng.choice("LP"), "age": rng.randint(16, 72), "education": rng.choice(EDUCATION),
                   "occupation": rng.choice(OCCUPATIONS)}
        yield now, "visit", visit_id, "checked_in", {
            "id": visit_id, "ticket_id": ticket_id, "service_day": day, "name": f"{first} {last}", **profile,
            "institution": rng.choice(INSTITUTIONS),
            "email": f"{first.split()[-1]}.{last}{rng.randint(1, 99)}@example.id".lower(),
            "phone": f"08{rng.randint(10**9, 10**10 - 1)}", "id_type": "ktp", "has_portal_account": rng.random() < .3,
            "purposes": rng.sample(PURPOSES, rng.randint(1, 2)), "checked_in_at": iso(now),
            "serve_by": iso(now + timedelta(minutes=15)), "service_started_at": None, "wait_s": None,
            "finished_at": None,
        }
        yield now, "visit", visit_id, "service_started", {"at": iso(now), "wait_s": rng.randint(20, 1200)}
        if rng.random() < 0.8:
            rating_id = new_id(ms)
            yield now, "rating", rating_id, "submitted", {
                "id": rating_id, "visit_id": visit_id, "source": "kiosk",
                **{f"u{i}": rng.choice((3, 4, 4, 4, 2)) for i in range(1, 10)},
                "comment": rng.choice(COMMENTS) if rng.random() < 0.2 else None, "gender": profile["gender"],
                "age_band": age_band(profile["age"]), "education": profile["education"],
                "occupation": profile["occupation"], "rated_at": iso(now), "anonymous": False,
            }
        if n % 25 == 0:
            yield from _complaint(rng, now, ms, seed % 1000 * 100_000 + n // 25, office_code)


def _complaint(rng: random.Random, now: datetime, ms: int, k: int, office_code: str) -> Iterator[tuple]:
    complaint_id = new_id(ms)
    code = "".join(TRACKING_ALPHABET[k // len(TRACKING_ALPHABET) ** i % len(TRACKING_ALPHABET)] for i in range(6))
    tracking = f"ADU-{office_code}-{now:%y%m}-{code}"  # counted, not drawn: unique for each seed's first 100,000
    yield now, "complaint", complaint_id, "diterima", {
        "id": complaint_id, "tracking": tracking, "channel": rng.choice(("kotak_saran", "langsung", "whatsapp")),
        "text": rng.choice(COMPLAINTS), "contact": f"08{rng.randint(10**9, 10**10 - 1)}", "entered_by": None,
        "status": "diterima", "received_at": iso(now), "followed_up_at": None, "followed_up_by": None,
        "resolved_at": None, "resolved_by": None, "response": None, "responded_at": None,
    }
    yield now, "complaint", complaint_id, "selesai", {
        "status": "selesai", "resolved_at": iso(now), "resolved_by": "staf-01",
        "response": "Sudah ditindaklanjuti; terima kasih atas masukannya.", "responded_at": iso(now),
        "tracking": tracking,
    }
