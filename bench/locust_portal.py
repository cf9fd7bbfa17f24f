"""Readers of the portal, for Locust (bench/portal_load.py runs it headless, in a process of its own, and reads its
figures): visitors browse the home page, search the catalogue with and without facets and open publications;
signed-in readers do the same and download watermarked softcopies. What they look for comes from the file named by
PST_LOAD_PLAN (JSON: publication ids, those with a softcopy, search words, facets, readers' session tokens).
"""

from __future__ import annotations

import json
import os
import random

from locust import HttpUser, between, task

PLAN = json.loads(open(os.environ["PST_LOAD_PLAN"], encoding="utf-8").read())
SESSION_COOKIE = "pst_cloud_session"


class Visitor(HttpUser):
    """Someone who found the portal: home, searches, publication pages (a reader thinks between pages)."""

    weight = 3
    wait_time = between(0.5, 2.0)

    @task(2)
    def home(self) -> None:
        self.client.get("/", name="/")

    @task(4)
    def search(self) -> None:
        self.client.get("/katalog", params={"q": random.choice(PLAN["words"])}, name="/katalog?q")

    @task(2)
    def search_with_facets(self) -> None:
        facet = random.choice(PLAN["facets"])
        self.client.get("/katalog", params={"q": random.choice(PLAN["words"]), **facet}, name="/katalog?q&facet")

    @task(4)
    def publication(self) -> None:
        self.client.get(f"/publikasi/{random.choice(PLAN['publications'])}", name="/publikasi/{id}")


class Reader(Visitor):
    """A signed-in reader, who also downloads softcopies (each one watermarked for them)."""

    weight = 1

    def on_start(self) -> None:
        self.client.cookies.set(SESSION_COOKIE, random.choice(PLAN["sessions"]))

    @task(1)
    def download(self) -> None:
        with self.client.get(f"/publikasi/{random.choice(PLAN['softcopies'])}/unduh", name="/publikasi/{id}/unduh",
                             catch_response=True) as answer:
            if answer.status_code == 200 and not answer.content.startswith(b"%PDF-"):
                answer.failure("not a PDF")
