"""Click commands kept in their own modules; ``egress_watch.cli`` registers them."""
