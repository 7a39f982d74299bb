"""The call-centre port: hand-offs (live transfer or callback task) with full context."""
