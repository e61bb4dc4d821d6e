"""The orchestration core: diagrams, instances, tasks, timers. It knows nothing of HTTP or HTML."""
