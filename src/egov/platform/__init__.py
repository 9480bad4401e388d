"""Shared kernel: settings-free building blocks every context uses."""
