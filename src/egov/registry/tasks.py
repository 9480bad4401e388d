"""The registry's background work: none yet (imports and exports run in the request or the CLI, with progress).

A job handler or round added here is declared in registry/module.py (`jobs=`, `rounds=`).
"""
