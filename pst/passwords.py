"""How strong a password must be, for staff on the appliance and for everyone on the portal: at least 10 characters
and not easy to guess by zxcvbn's estimate (score 3 of 4 or better), with the reason in Indonesian."""

from __future__ import annotations

from collections.abc import Iterable

MIN_LENGTH = 10
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable", about 10^8 guesses or more
TOO_EASY = "Kata sandi terlalu mudah ditebak"
# zxcvbn speaks English; its warnings, in a few words of Indonesian (matched on a part of the English text)
WARNINGS = {
    "user_inputs": "jangan memakai nama, nama pengguna atau alamat e-mail Anda",
    "common password": "kata sandi ini banyak dipakai orang",
    "Repeats": "pengulangan seperti \"aaa\" mudah ditebak",
    "Sequences": "urutan seperti \"abc\" atau \"6543\" mudah ditebak",
    "keyboard": "pola papan ketik mudah ditebak",
    "years": "tahun mudah ditebak",
    "Dates": "tanggal mudah ditebak",
    "names": "nama orang mudah ditebak",
    "word by itself": "satu kata saja mudah ditebak",
}
GENERIC = "tambahkan dua atau tiga kata lagi yang tidak umum"


def password_weakness(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """Why the password will not do, in Indonesian; None when it will. `user_inputs` are the account's own words
    (name, e-mail, username), which make a password easy to guess for anyone who knows the person."""
    if len(password) < MIN_LENGTH:
        return f"minimal {MIN_LENGTH} karakter"
    from zxcvbn import zxcvbn  # imported here: the estimator loads its word lists on first use

    words = [w for text in user_inputs if text for w in (text, *text.replace("@", " ").replace(".", " ").split())]
    # zxcvbn refuses more than 72 characters (ValueError, a 500) and slows down sharply before that: the first 72
    # judge the strength, and a longer password is at least as strong
    result = zxcvbn(password[:72], user_inputs=words)
    if result["score"] >= MIN_SCORE:
        return None
    return f"{TOO_EASY}: {_reason(result)}"


def _reason(result: dict) -> str:
    if any(m.get("dictionary_name") == "user_inputs" for m in result.get("sequence", ())):
        return WARNINGS["user_inputs"]
    warning = result["feedback"].get("warning") or ""
    return next((words for part, words in WARNINGS.items() if part in warning), GENERIC)
