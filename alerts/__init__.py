"""The alert domain: tables, lifecycle, rendering, delivery orchestration, responses, jobs."""
