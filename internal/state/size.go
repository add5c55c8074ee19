package state

import "sync/atomic"

// sizeGauge publishes a store's size to other goroutines (the status page,
// metrics) without a lock on the actor's path.
type sizeGauge struct {
	keys  atomic.Int64
	bytes atomic.Int64
}

func (g *sizeGauge) set(keys int, bytes int64) {
	g.keys.Store(int64(keys))
	g.bytes.Store(bytes)
}

func (g *sizeGauge) get() (int, int64) { return int(g.keys.Load()), g.bytes.Load() }
