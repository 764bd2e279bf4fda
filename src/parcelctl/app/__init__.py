"""The application layer: one module per use case (add, sync, archive, digest, watch
rounds, reading the store, diagnostics). Commands in ``cli/`` parse options, call one
function here and print what it returns; only this layer and below touch the store, the
sync lock, the syncer and HTTP. Modules import lazily where ``list`` start-up cares."""
