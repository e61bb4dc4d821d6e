"""The one error of the bench: it could not take a measurement because the app did not do what was asked."""


class BenchError(RuntimeError):
    pass
