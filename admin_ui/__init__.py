"""Server-rendered browser UI: admin pages and the customer response pages."""
