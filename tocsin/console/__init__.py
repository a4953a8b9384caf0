"""The console: incidents, on-call and silences in a browser, for people who sign in."""
