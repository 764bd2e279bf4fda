"""A local simulator of every supported protocol, for tests, benchmarks and ``parcelctl demo``.

It never imports provider code: each protocol is implemented here on its own, from the
fact sheets, so that a provider's mistake makes a test fail instead of being mirrored.
"""
