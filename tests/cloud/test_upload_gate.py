"""An anonymous upload to a staff page is answered before its body is read (before even the CSRF check, which would
read the whole form to find its token)."""

from __future__ import annotations

import io

from tests.cloud.conftest import rows_in


def test_an_anonymous_upload_is_turned_away_unread(client):
    big = io.BytesIO(b"%PDF-1.7\n" + b"0" * (2 * 2**20))
    answer = client.post("/kantor/katalog/01a0c0de-0000-7000-8000-000000000001/softcopy",
                         files={"file": ("data.pdf", big, "application/pdf")}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/akun/masuk"  # not the CSRF check's 403
    api = client.post("/api/staff/requests/01a0c0de-0000-7000-8000-000000000001/fulfil",
                      files={"file": ("data.pdf", io.BytesIO(b"%PDF-1.7"), "application/pdf")})
    assert api.status_code == 401 and api.json()["detail"]
    client.cookies.set("pst_cloud_session", "forged")
    forged = client.post("/kantor/katalog/x/softcopy", files={"file": ("a.pdf", io.BytesIO(b"%PDF"), "application/pdf")},
                         follow_redirects=False)
    assert forged.status_code == 303
    assert rows_in(client, "softcopy_files") == 0


def test_plain_forms_and_signed_in_pages_are_not_affected(client):
    assert client.get("/kantor", follow_redirects=False).status_code == 303  # the pages' own redirect
    assert client.post("/api/accounts", json={"email": "x"}).status_code == 400  # JSON is not an upload
