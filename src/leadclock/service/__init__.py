"""The edges around the pure engine: ingest into the store, explanations from it."""
