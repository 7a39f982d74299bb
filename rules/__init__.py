"""Pure decision code: triggers, preferences, delivery plans. No I/O; `now` is passed in."""
