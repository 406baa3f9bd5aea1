"""Shared fixtures and hypothesis profiles."""

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=20_000, deadline=None)
settings.register_profile("deep", max_examples=2_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The app opens a design store by default (a SQLite file in the user's data directory): tests
# (and the app servers they start, which inherit the environment) use a throwaway one instead.
if "NETBUILDER_DATABASE_URL" not in os.environ:
    import tempfile

    _STORE_DIR = tempfile.mkdtemp(prefix="netbuilder-test-store-")
    os.environ["NETBUILDER_DATABASE_URL"] = f"sqlite:///{_STORE_DIR}/store.db"
