"""Config: ``config.toml`` in; one frozen, validated Settings out (or a ConfigError naming the
file, the key and the problem). Each stage's section is parsed by that stage's own parser.
"""
