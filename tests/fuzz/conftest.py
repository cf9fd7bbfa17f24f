"""Fixtures of the fuzz tests: the portal on each database engine (tests/cloud/conftest.py), with server errors
answered as 500s instead of raised, so a test sees what a client would."""

from __future__ import annotations

import pytest

from tests.cloud.conftest import cloud_env, cloud_settings, database, mailbox, postgres_cluster  # noqa: F401


@pytest.fixture
def portal(cloud_settings, clock):  # noqa: F811
    from litestar.testing import TestClient

    from cloud.app import create_app

    app = create_app(cloud_settings, clock=clock)
    with TestClient(app, base_url="http://portal.test", raise_server_exceptions=False) as test_client:
        yield test_client
