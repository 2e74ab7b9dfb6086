"""The test plumbing for PostgreSQL and Redis: skipped with one line where absent, a failure
where REQUIRE_SERVICES=1 (CI)."""

from __future__ import annotations

import pytest

from tests.support import services

NOWHERE = "postgresql://postgres@127.0.0.1:9/none"  # the discard port: nothing listens


class TestRequire:
    def test_absent_server_skips_and_is_summed_up_in_one_line(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without a server the test is skipped, and the session's summary line names it."""
        monkeypatch.setattr(services, "REQUIRED", False)
        monkeypatch.setattr(services, "skipped", {})
        with pytest.raises(pytest.skip.Exception, match="Nowhere: nothing answers"):
            services.require("Nowhere", NOWHERE)
        line = services.summary_line()
        assert line is not None
        assert "Nowhere: nothing answers at 127.0.0.1:9" in line
        assert "\n" not in line

    def test_absent_server_fails_when_required(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With REQUIRE_SERVICES=1 a missing server fails the test instead of skipping it."""
        monkeypatch.setattr(services, "REQUIRED", True)
        with pytest.raises(pytest.fail.Exception, match="REQUIRE_SERVICES=1"):
            services.require("Nowhere", NOWHERE)

    async def test_each_schema_is_new_and_dropped_after(self) -> None:
        """A test's schema is empty when made and gone afterwards."""
        async with services.postgres_schema() as schema:
            inside = await services.postgres_rows(
                schema.url,
                "SELECT current_schema(), COUNT(*) FROM pg_tables"
                " WHERE schemaname = current_schema() GROUP BY 1",
            )
            assert inside == []
            assert (await services.postgres_rows(schema.url, "SELECT current_schema()")) == [
                (schema.name,)
            ]
        left = await services.postgres_rows(
            services.POSTGRES_URL,
            f"SELECT 1 FROM information_schema.schemata WHERE schema_name = '{schema.name}'",
        )
        assert left == []
