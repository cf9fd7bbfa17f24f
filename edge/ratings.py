"""SKM ratings at the desk (the public satisfaction survey, PermenPANRB 14/2017): one rating per visit, or an
anonymous walk-up rating at the kiosk. The rules and the index live in `pst.skm`; this module stores and reads.

The kiosk form asks all nine elements; the API takes a partial answer (at least one element), which `pst.skm`
averages per element. The respondent's profile (gender, age band, education, occupation) is copied from the
guestbook when the rating is made, so the survey report never needs the visitor's name. Each rating is one
transaction with its outbox event (`rating`/`submitted`) for the sync to the cloud.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

from sqlite_utils import Database

from edge import outbox
from edge.i18n import N_
from edge.store import EdgeStore
from pst import skm
from pst.clock import Clock, iso
from pst.ids import new_id
from pst.reports import ikm_json as ikm_json  # the one API shape of the IKM, shared with the cloud
from pst.skm import CODES, IkmResult, age_band, compute_ikm
from pst.skm import COMMENT_MAX as COMMENT_MAX  # re-exported for the questionnaire page

# The table is made by migration m006_ratings_and_complaints (edge/migrations.py).

WALK_UP_PER_MINUTE = 6  # anonymous ratings a minute before the kiosk says "wait": a light brake on stuffing
SCORE_COLUMNS = tuple(code.lower() for code in CODES)


class RatingError(ValueError):
    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.errors = status, errors or {}


PROBLEMS = {
    skm.NOT_AN_OBJECT: N_("wajib diisi"), skm.UNKNOWN_ELEMENT: N_("unsur tidak dikenal"),
    skm.NOT_A_SCORE: N_("nilai harus 1, 2, 3 atau 4"), skm.UNANSWERED: N_("pilih salah satu jawaban"),
    skm.NO_ANSWER: N_("jawab minimal satu unsur"),
}


def clean_scores(scores: object, require_all: bool) -> dict[str, int]:
    """The scores as {code: 1..4}, or RatingError(400) naming each bad element; the rules are pst.skm's
    (`read_scores`): digits as text are accepted (a form posts text), all nine when `require_all` (the kiosk)."""
    clean, problems = skm.read_scores(scores, require_all)
    if problems.get("scores") == skm.NOT_AN_OBJECT:
        raise RatingError(400, N_("Nilai SKM harus berupa objek U1–U9"), {"scores": PROBLEMS[skm.NOT_AN_OBJECT]})
    if problems:
        errors = {field: PROBLEMS[kind] for field, kind in problems.items()}
        raise RatingError(400, N_("Penilaian belum lengkap atau tidak sah"), errors)
    return clean


def clean_comment(comment: object) -> str | None:
    text, problem = skm.read_comment(comment)
    if problem == skm.NOT_TEXT:
        raise RatingError(400, N_("Saran harus berupa teks"), {"comment": N_("harus berupa teks")})
    if problem == skm.TOO_LONG:
        raise RatingError(400, N_("Saran terlalu panjang"), {"comment": N_("maks. 1000 karakter")})
    return text  # as typed; pages escape it when they show it


class RatingService:
    def __init__(self, store: EdgeStore, clock: Clock):
        self.store, self.clock = store, clock

    def submit(self, visit_id: str | None, scores: object, comment: object = None, source: str = "api") -> dict:
        """Store one rating; 404 for an unknown visit, 409 when the visit is already rated, 429 when walk-up
        ratings come faster than people can fill the form."""
        clean = clean_scores(scores, require_all=source == "kiosk")
        text = clean_comment(comment)
        if visit_id is not None and not isinstance(visit_id, str):
            raise RatingError(400, N_("Kunjungan tidak sah"), {"visit_id": N_("harus berupa teks")})
        now = self.clock.now()
        try:
            with self.store.write() as db:
                profile = self._profile(db, visit_id, now)
                row = {
                    "id": new_id(), "visit_id": visit_id or None, "source": source,
                    **{code.lower(): clean.get(code) for code in CODES},
                    "comment": text, **profile, "rated_at": iso(now),
                }
                db["ratings"].insert(row)
                outbox.append(db, "rating", row["id"], "submitted", row | {"anonymous": row["visit_id"] is None}, now)
        except sqlite3.IntegrityError:  # a second rating of the same visit that slipped past the check
            raise RatingError(409, N_("Kunjungan ini sudah dinilai; terima kasih")) from None
        return rating_json(row)

    def _profile(self, db: Database, visit_id: str | None, now: datetime) -> dict:
        keys = ("gender", "age_band", "education", "occupation")
        if not visit_id:
            since = iso(now - timedelta(minutes=1))
            recent = db.execute(
                "SELECT count(*) FROM ratings WHERE visit_id IS NULL AND rated_at > ?", [since]
            ).fetchone()[0]
            if recent >= WALK_UP_PER_MINUTE:
                raise RatingError(429, N_("Terlalu banyak penilaian dalam satu menit; coba lagi sebentar lagi"))
            return dict.fromkeys(keys)
        visit = db.execute(
            "SELECT gender, age, education, occupation FROM visits WHERE id = ?", [visit_id]
        ).fetchone()
        if visit is None:
            raise RatingError(404, N_("Kunjungan tidak ditemukan"))
        if db.execute("SELECT 1 FROM ratings WHERE visit_id = ?", [visit_id]).fetchone():
            raise RatingError(409, N_("Kunjungan ini sudah dinilai; terima kasih"))
        gender, age, education, occupation = visit
        return dict(zip(keys, (gender, age_band(age), education, occupation)))

    def rated(self, visit_id: str) -> bool:
        return self.store.read.execute("SELECT 1 FROM ratings WHERE visit_id = ?", [visit_id]).fetchone() is not None

    def ikm_between(self, since: datetime, until: datetime) -> IkmResult:
        """The index over ratings made in [since, until)."""
        rows = self.store.read.execute(
            f"SELECT {', '.join(SCORE_COLUMNS)} FROM ratings WHERE rated_at >= ? AND rated_at < ?",
            [_utc(since), _utc(until)],
        ).fetchall()
        return compute_ikm({code: score for code, score in zip(CODES, row) if score is not None} for row in rows)


def rating_json(row: dict) -> dict:
    return {
        "id": row["id"], "visit_id": row["visit_id"], "anonymous": row["visit_id"] is None,
        "scores": {code: row[code.lower()] for code in CODES if row[code.lower()] is not None},
        "comment": row["comment"], "rated_at": row["rated_at"],
    }


def _utc(moment: datetime) -> str:
    return iso(moment.astimezone(timezone.utc))
