"""Config: ``config.toml`` in, frozen validated Settings out (or a ConfigError)."""
