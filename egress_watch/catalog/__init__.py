"""Route: a host and path in, the AI service, its API family and facts out."""
