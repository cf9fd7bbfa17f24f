"""Service quality on the portal: SKM ratings of an office (PermenPANRB 14/2017) and complaints with a tracking
number, handled in the back office diterima → ditindaklanjuti → selesai. The rules are pst.skm's, as at the desk.

Ratings and complaints made at a desk arrive by the sync (source kiosk/api, origin edge); here they are only read:
an edge complaint is handled at its desk, so the back office shows it without actions. Office months and times are
WITA (Asia/Makassar), the zone of the offices so far, as for the watermarks (cloud.reading).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from cloud.accounts import AccountView
from cloud.catalogue import CatalogueError
from cloud.db import Database, is_unique_violation, moment
from cloud.reading import WITA
from pst import skm
from pst.clock import Clock
from pst.i18n import N_
from pst.ids import new_id

CHANNEL_WORDS = {
    "website": N_("Website (portal)"), "kotak_saran": N_("Kotak saran"), "email": "E-mail", "whatsapp": "WhatsApp",
    "lapor": "SP4N LAPOR!", "langsung": N_("Langsung di loket"),
}
PUBLIC_CHANNELS = ("website",)  # what a complainant chooses on the portal; staff enter every channel
STATUS_WORDS = {"diterima": N_("Diterima"), "ditindaklanjuti": N_("Ditindaklanjuti"), "selesai": N_("Selesai")}
AT_THE_DESK = N_("ditangani di loket")
STAFF_ROLES = ("staff", "admin")
SCORE_PROBLEMS = {
    skm.NOT_AN_OBJECT: N_("wajib diisi: objek U1–U9"), skm.UNKNOWN_ELEMENT: N_("unsur tidak dikenal"),
    skm.NOT_A_SCORE: N_("nilai harus 1, 2, 3 atau 4"), skm.UNANSWERED: N_("pilih salah satu jawaban"),
    skm.NO_ANSWER: N_("jawab semua unsur"),
}
COMMENT_PROBLEMS = {skm.NOT_TEXT: N_("harus berupa teks"),
                    skm.TOO_LONG: N_("maks. %(limit)s karakter") % {"limit": skm.COMMENT_MAX}}
# Light brakes on stuffing from the open internet, counted in the database (every worker sees them): anonymous
# ratings of one office a minute, and complaints from the public to one office in ten minutes.
ANONYMOUS_RATINGS_PER_MINUTE = 20
PUBLIC_COMPLAINTS_PER_10_MIN = 30
SCORE_COLUMNS = tuple(code.lower() for code in skm.CODES)
_COMPLAINT = (
    "c.id, c.tracking, c.office_code, o.name AS office_name, c.origin, c.channel, c.text, c.contact, c.account_id,"
    " c.entered_by, c.status, c.received_at, c.followed_up_at, c.followed_up_by, c.resolved_at, c.resolved_by,"
    " c.response, c.responded_at, c.updated_at, e.name AS entered_by_name, f.name AS followed_up_by_name,"
    " r.name AS resolved_by_name"
    " FROM complaints c LEFT JOIN offices o ON o.code = c.office_code"
    " LEFT JOIN accounts e ON e.id = c.entered_by LEFT JOIN accounts f ON f.id = c.followed_up_by"
    " LEFT JOIN accounts r ON r.id = c.resolved_by"
)


class QualityError(CatalogueError):
    """Refused: `status` is the HTTP answer, `errors` names the fields."""


def _when(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def staff_only(account: AccountView | None) -> AccountView:
    if account is None:
        raise QualityError(401, N_("Masuk terlebih dahulu"))
    if account.role not in STAFF_ROLES:
        raise QualityError(403, N_("Hanya petugas yang dapat melakukan ini"))
    return account


def month_bounds(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month of `moment` in the office's zone, as [start, end) instants."""
    local = moment.astimezone(tz)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _text(value, field: str, limit: int, required: bool, errors: dict) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = N_("wajib diisi")
        return None
    if not isinstance(value, str):
        errors[field] = N_("harus berupa teks")
        return None
    if len(value) > limit:
        errors[field] = N_("terlalu panjang (maks. %(limit)s karakter)") % {"limit": limit}
        return None
    return value.strip()


class Quality:
    def __init__(self, db: Database, clock: Clock, tz: ZoneInfo = WITA):
        self.db, self.clock, self.tz = db, clock, tz

    async def offices(self) -> list[dict]:
        return await self.db.execute("SELECT code, name FROM offices ORDER BY code")

    async def _office(self, code, errors: dict) -> str | None:
        if not isinstance(code, str) or not code.strip():
            errors["office"] = N_("pilih kantor yang dinilai")
            return None
        if not await self.db.execute("SELECT code FROM offices WHERE code = {}", code.strip()[:8]):
            errors["office"] = N_("kantor tidak dikenal")
            return None
        return code.strip()

    # --- ratings ---------------------------------------------------------------------------------------------------
    async def rate(self, office, scores, comment=None, visit_id=None, reader: AccountView | None = None,
                   text_digits: bool = False) -> dict:
        """One answer sheet of all nine elements for an office (or for a desk visit, whose office it takes).
        400 names every bad field; 404 an unknown visit; 409 a visit already rated, or a signed-in reader's second
        rating of the office in one calendar month (office time); 429 when anonymous ratings pour in."""
        clean, problems = skm.read_scores(scores, require_all=True, text_digits=text_digits)
        errors = {field: SCORE_PROBLEMS[kind] for field, kind in problems.items()}
        text, problem = skm.read_comment(comment)
        if problem:
            errors["comment"] = COMMENT_PROBLEMS[problem]
        if visit_id is not None and (not isinstance(visit_id, str) or len(visit_id) > 36):
            errors["visit_id"] = N_("tidak sah")
        visit = await self._visit(visit_id) if visit_id and not errors else None  # a bad sheet is 400 first
        if visit is not None and office in (None, ""):
            office = visit["office_code"]
        if visit is not None or not visit_id or office not in (None, ""):
            office = await self._office(office, errors)
        if visit is not None and office and office != visit["office_code"]:
            errors["office"] = N_("bukan kantor kunjungan ini")
        if errors:
            raise QualityError(400, N_("Penilaian belum lengkap atau tidak sah"), errors)
        now = self.clock.now()
        profile = {key: (visit or {}).get(key) for key in ("gender", "age_band", "education", "occupation")}
        row = {
            "id": new_id(), "office_code": office, "source": "portal", "visit_id": visit_id or None,
            "account_id": reader.id if reader else None, **{c.lower(): clean[c] for c in skm.CODES},
            "comment": text, **profile, "rated_at": now, "received_at": now,
        }
        try:
            async with self.db.transaction():
                if reader:
                    await self._once_a_month(row, reader)
                else:
                    await self._brake_anonymous(office, now)
                columns = ", ".join(row)
                await self.db.execute(
                    f"INSERT INTO ratings ({columns}) VALUES ({', '.join('{}' for _ in row)})", *row.values()
                )
        except Exception as exc:
            if is_unique_violation(exc):  # the visit was rated meanwhile
                raise QualityError(409, N_("Kunjungan ini sudah dinilai; terima kasih")) from None
            raise
        return rating_json(row)

    async def _visit(self, visit_id: str) -> dict:
        rows = await self.db.execute(
            "SELECT id, office_code, gender, age_band, education, occupation FROM visits WHERE id = {}", visit_id
        )
        if not rows:
            raise QualityError(404, N_("Kunjungan tidak ditemukan"), {"visit_id": N_("tidak ditemukan")})
        if await self.db.execute("SELECT id FROM ratings WHERE visit_id = {}", visit_id):
            raise QualityError(409, N_("Kunjungan ini sudah dinilai; terima kasih"))
        return rows[0]

    async def _once_a_month(self, row: dict, reader: AccountView) -> None:
        if self.db.kind == "postgresql":  # one reader's ratings are counted one at a time (SQLite: the write lock)
            await self.db.execute("SELECT id FROM accounts WHERE id = {} FOR UPDATE", reader.id)
        if await self.rated_this_month(reader, row["office_code"]):
            raise QualityError(409, N_("Anda sudah menilai kantor ini bulan ini; terima kasih. Silakan menilai lagi"
                                       " bulan depan."), {"office": N_("sudah dinilai bulan ini")})

    async def rated_this_month(self, reader: AccountView, office_code: str) -> bool:
        start, end = month_bounds(self.clock.now(), self.tz)
        return bool(await self.db.execute(
            "SELECT id FROM ratings WHERE account_id = {} AND office_code = {} AND rated_at >= {} AND rated_at < {}",
            reader.id, office_code, start.astimezone(timezone.utc), end.astimezone(timezone.utc),
        ))

    async def _brake_anonymous(self, office: str, now: datetime) -> None:
        recent = await self.db.execute(
            "SELECT count(*) AS n FROM ratings WHERE source = 'portal' AND account_id IS NULL AND office_code = {}"
            " AND rated_at > {}", office, now - timedelta(minutes=1),
        )
        if recent[0]["n"] >= ANONYMOUS_RATINGS_PER_MINUTE:
            raise QualityError(429, N_("Terlalu banyak penilaian dalam satu menit; coba lagi sebentar lagi"))

    # --- complaints ------------------------------------------------------------------------------------------------
    async def complain(self, office, channel, text, contact=None, staff: AccountView | None = None,
                       reader: AccountView | None = None) -> dict:
        """A new complaint, diterima, with its tracking number. The public complains through the website; staff
        (`staff`) enter those that came by box, e-mail, WhatsApp, SP4N LAPOR or in person."""
        errors: dict[str, str] = {}
        allowed = skm.CHANNELS if staff else PUBLIC_CHANNELS
        if channel not in allowed:
            errors["channel"] = N_("saluran tidak sah: pilih salah satu dari %(choices)s") % {
                "choices": ", ".join(allowed)}
        body = _text(text, "text", skm.COMPLAINT_TEXT_MAX, True, errors)
        if body is not None and len(body) < skm.COMPLAINT_TEXT_MIN:
            errors["text"] = N_("ceritakan sedikit lebih lengkap (min. %(least)s karakter)") % {
                "least": skm.COMPLAINT_TEXT_MIN}
        reach = _text(contact, "contact", skm.CONTACT_MAX, False, errors)
        office = await self._office(office, errors)
        if errors:
            raise QualityError(400, N_("Pengaduan belum lengkap atau tidak sah"), errors)
        now = self.clock.now()
        if staff is None:
            await self._brake_public(office, now)
        row = {
            "id": new_id(), "office_code": office, "origin": "cloud", "account_id": reader.id if reader else None,
            "channel": channel, "text": body, "contact": reach, "entered_by": staff.id if staff else None,
            "status": "diterima", "received_at": now, "updated_at": now,
        }
        month = now.astimezone(self.tz).strftime("%y%m")  # the office's month
        for _ in range(20):
            row["tracking"] = skm.tracking_number(office, month, secrets.choice)
            try:
                await self.db.execute(
                    f"INSERT INTO complaints ({', '.join(row)}) VALUES ({', '.join('{}' for _ in row)})", *row.values()
                )
                break
            except Exception as exc:
                if not is_unique_violation(exc):
                    raise
        else:
            raise RuntimeError("no free tracking number after 20 draws")  # 30^6 a month: not in this universe
        return await self.complaint(row["id"])

    async def _brake_public(self, office: str, now: datetime) -> None:
        recent = await self.db.execute(
            "SELECT count(*) AS n FROM complaints WHERE origin = 'cloud' AND entered_by IS NULL AND office_code = {}"
            " AND received_at > {}", office, now - timedelta(minutes=10),
        )
        if recent[0]["n"] >= PUBLIC_COMPLAINTS_PER_10_MIN:
            raise QualityError(429, N_("Terlalu banyak pengaduan dalam waktu singkat; coba lagi sebentar lagi"))

    async def lookup(self, raw_tracking) -> dict | None:
        """The public answer for a tracking number: where it is, its dates and the response; never the complaint's
        text or contact, nor who handled it."""
        tracking = skm.normalise_tracking(raw_tracking)
        if tracking is None:
            return None
        rows = await self.db.execute(f"SELECT {_COMPLAINT} WHERE c.tracking = {{}}", tracking)
        if not rows:
            return None
        view = complaint_json(rows[0], self.clock.now())
        keys = ("tracking", "office_code", "office_name", "channel", "status", "status_label", "received_at",
                "followed_up_at", "resolved_at", "response", "responded_at")
        return {key: view[key] for key in keys}

    async def complaint(self, complaint_id: str) -> dict:
        rows = await self.db.execute(f"SELECT {_COMPLAINT} WHERE c.id = {{}}", str(complaint_id)[:100])
        if not rows:
            raise QualityError(404, N_("Pengaduan tidak ditemukan"))
        return complaint_json(rows[0], self.clock.now())

    async def queue(self, staff: AccountView | None, status: str = "", office: str = "",
                    channel: str = "") -> list[dict]:
        """Staff list: the open ones oldest first, then the resolved ones newest first (the last 200)."""
        staff_only(staff)
        errors = {}
        if status and status not in skm.STATUSES:
            errors["status"] = N_("salah satu dari %(choices)s") % {"choices": ", ".join(skm.STATUSES)}
        if channel and channel not in skm.CHANNELS:
            errors["channel"] = N_("salah satu dari %(choices)s") % {"choices": ", ".join(skm.CHANNELS)}
        if errors:
            raise QualityError(400, N_("Saringan tidak dikenal"), errors)
        where, args = [], []
        for column, value in (("c.status", status), ("c.office_code", office[:8]), ("c.channel", channel)):
            if value:
                where.append(f"{column} = {{}}")
                args.append(value)
        rows = []
        if status in ("", "diterima", "ditindaklanjuti"):
            rows += await self.db.execute(
                f"SELECT {_COMPLAINT} WHERE {' AND '.join(where + ['c.status <> {}'])} ORDER BY c.received_at, c.id",
                *args, "selesai",
            )
        if status in ("", "selesai"):
            rows += await self.db.execute(
                f"SELECT {_COMPLAINT} WHERE {' AND '.join(where + ['c.status = {}'])}"
                " ORDER BY c.resolved_at DESC, c.id LIMIT 200", *args, "selesai",
            )
        now = self.clock.now()
        return [complaint_json(row, now) for row in rows]

    async def follow_up(self, staff: AccountView | None, complaint_id: str, response=None) -> dict:
        """diterima → ditindaklanjuti; a response may go with it."""
        return await self._advance(staff, complaint_id, "ditindaklanjuti", response)

    async def resolve(self, staff: AccountView | None, complaint_id: str, response=None) -> dict:
        """→ selesai; the complainant must have a response: given now, or given before."""
        return await self._advance(staff, complaint_id, "selesai", response)

    async def respond(self, staff: AccountView | None, complaint_id: str, response) -> dict:
        """The response for the complainant (replacing an earlier one) while the complaint is open."""
        staff_only(staff)
        answer = self._response(response, required=True)
        now = self.clock.now()
        await self._update(complaint_id, ("diterima", "ditindaklanjuti"),
                           {"response": answer, "responded_at": now, "updated_at": now})
        return await self.complaint(complaint_id)

    async def _advance(self, staff, complaint_id: str, target: str, response) -> dict:
        staff = staff_only(staff)
        answer = self._response(response, required=False)
        now = self.clock.now()
        stamp, by = {"ditindaklanjuti": ("followed_up_at", "followed_up_by"),
                     "selesai": ("resolved_at", "resolved_by")}[target]
        values = {"status": target, stamp: now, by: staff.id, "updated_at": now}
        if answer is not None:
            values |= {"response": answer, "responded_at": now}
        needs_earlier = target == "selesai" and answer is None  # then only with the response given before
        await self._update(complaint_id, skm.TRANSITIONS[target], values, response_given=needs_earlier)
        return await self.complaint(complaint_id)

    @staticmethod
    def _response(response, required: bool) -> str | None:
        errors: dict[str, str] = {}
        answer = _text(response, "response", skm.RESPONSE_MAX, required, errors)
        if errors:
            raise QualityError(400, N_("Tanggapan belum benar"), errors)
        return answer

    async def _update(self, complaint_id: str, sources: tuple[str, ...], values: dict,
                      response_given: bool = False) -> None:
        """One guarded UPDATE of a portal complaint, so two staff members acting at once cannot both move it."""
        sets = ", ".join(f"{column} = {{}}" for column in values)
        marks = ", ".join("{}" for _ in sources)
        extra = " AND response IS NOT NULL" if response_given else ""
        moved = await self.db.execute(
            f"UPDATE complaints SET {sets} WHERE id = {{}} AND origin = 'cloud' AND status IN ({marks}){extra}"
            " RETURNING id", *values.values(), str(complaint_id)[:100], *sources,
        )
        if moved:
            return
        rows = await self.db.execute("SELECT origin, status, response FROM complaints WHERE id = {}",
                                     str(complaint_id)[:100])
        if not rows:
            raise QualityError(404, N_("Pengaduan tidak ditemukan"))
        if rows[0]["origin"] != "cloud":
            raise QualityError(409, N_("Pengaduan ini %(where)s: ubah statusnya di perangkat kantor")
                               % {"where": AT_THE_DESK})
        if rows[0]["status"] in sources and response_given:
            raise QualityError(400, N_("Tanggapan wajib diisi untuk menyelesaikan pengaduan"),
                               {"response": N_("wajib diisi")})
        raise QualityError(409, N_("Pengaduan ini sudah berstatus %(status)s") % {"status": rows[0]["status"]})



def rating_json(row: dict) -> dict:
    return {
        "id": row["id"], "office": row["office_code"], "source": row["source"], "visit_id": row["visit_id"],
        "signed_in": row["account_id"] is not None,
        "scores": {code: row[code.lower()] for code in skm.CODES if row[code.lower()] is not None},
        "comment": row["comment"], "rated_at": _when(row["rated_at"]),
    }


def complaint_json(row: dict, now: datetime) -> dict:
    received, resolved = moment(row["received_at"]), moment(row["resolved_at"])
    return {
        "id": row["id"], "tracking": row["tracking"], "office_code": row["office_code"],
        "office_name": row["office_name"], "origin": row["origin"], "read_only": row["origin"] != "cloud",
        "channel": row["channel"], "channel_label": CHANNEL_WORDS.get(row["channel"], row["channel"]),
        "text": row["text"], "contact": row["contact"], "status": row["status"],
        "status_label": STATUS_WORDS.get(row["status"], row["status"]),
        "entered_by": row["entered_by_name"] or row["entered_by"],
        "followed_up_by": row["followed_up_by_name"] or row["followed_up_by"],
        "resolved_by": row["resolved_by_name"] or row["resolved_by"],
        "received_at": _when(received), "followed_up_at": _when(row["followed_up_at"]),
        "resolved_at": _when(resolved), "response": row["response"], "responded_at": _when(row["responded_at"]),
        "updated_at": _when(row["updated_at"]),
        "resolve_s": int((resolved - received).total_seconds()) if resolved else None,
        "open_s": None if resolved else max(0, int((now - received).total_seconds())),
    }
