"""Many providers behind one model: routing each chat's model to its provider's client, the
providers' concurrency caps, and the catalogue's capabilities and prices (issue 17)."""
