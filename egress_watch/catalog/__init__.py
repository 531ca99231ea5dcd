"""Catalog: a host and path in; the AI service, its API family and where its requests go
(operator, jurisdictions, region, training terms) out. Also: does an uncatalogued host look like
an AI service (shadow-AI discovery).
"""
