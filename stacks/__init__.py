"""The Pulumi program (`__main__.py`) and the tooling that runs stacks: offline engine, validation, CLI."""
