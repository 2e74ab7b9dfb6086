"""The token_calibration table on PostgreSQL: bytes per token, learnt per model."""

from __future__ import annotations

from bot.storage.postgres.database import PostgresDatabase
from bot.storage.records import Calibration

_SAVE = """
    INSERT INTO token_calibration (model, bytes_per_token, samples, updated_at)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (model) DO UPDATE SET
        bytes_per_token = excluded.bytes_per_token,
        samples = excluded.samples,
        updated_at = excluded.updated_at
"""


class PostgresCalibrations:
    """`CalibrationRepository` on the token_calibration table."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def load(self) -> dict[str, Calibration]:
        rows = await self._db.fetch_all(
            "SELECT model, bytes_per_token, samples FROM token_calibration"
        )
        return {row[0]: Calibration(row[1], row[2]) for row in rows}

    async def save(self, model: str, calibration: Calibration, *, now: float) -> None:
        await self._db.write(_SAVE, model, calibration.bytes_per_token, calibration.samples, now)
