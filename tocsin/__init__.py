"""The Tocsin application: CLI, settings, configuration loading and wiring of the stages."""
