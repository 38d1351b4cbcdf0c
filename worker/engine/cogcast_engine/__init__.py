"""cogcast's GPU engine: a long-lived process that turns preset-shaped prompts into CogVideoX frames over JSON lines."""

__version__ = "0.1.0"
