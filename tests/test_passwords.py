"""The products hash passwords at argon2id's recommended cost, whatever the tests' own process uses (conftest)."""

from __future__ import annotations

import argon2

from tests.conftest import PRODUCTS_HASHERS


def test_password_hashes_keep_the_products_cost():
    assert len(PRODUCTS_HASHERS) == 2  # the appliance's and the portal's
    for hasher in PRODUCTS_HASHERS:
        hashed = hasher.hash("kata sandi yang panjang")
        assert argon2.extract_parameters(hashed) == argon2.profiles.RFC_9106_LOW_MEMORY
        assert hasher.verify(hashed, "kata sandi yang panjang")
