"""Drop-in compatibility with other tools' import paths (see ``recorder.compat.agentops``)."""
