"""The SQLite history: migrations, the single writer, and read models."""
