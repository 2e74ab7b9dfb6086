"""Benchmarks of the bot (issue 8): each module measures one figure; see docs/performance.md."""
