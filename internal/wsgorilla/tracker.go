package wsgorilla

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Tracker knows the open connections accepted with WithTracker, so that
// shutdown can close them: http.Server.Shutdown neither closes nor waits for
// hijacked connections. The zero value is ready to use.
type Tracker struct {
	mu     sync.Mutex
	conns  map[*conn]struct{}
	shut   bool
	code   int
	reason string
}

// Len returns the number of open connections.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// CloseAll sends every open connection a close frame with code and reason
// (1012 "service restart" on shutdown, so clients reconnect elsewhere),
// concurrently so that a peer that does not read delays no one else, and
// returns once the frames are written, each within its write timeout. It
// returns how many connections it started closing. CloseAll is final: a
// connection accepted afterwards gets the same close frame at once, so no
// connection outlives a shutdown that raced with an upgrade. It panics on a
// code that may not be sent (see Closer.Close).
func (t *Tracker) CloseAll(code int, reason string) int {
	mustSendableCode(code)
	t.mu.Lock()
	t.shut, t.code, t.reason = true, code, reason
	conns := slices.Collect(maps.Keys(t.conns))
	t.mu.Unlock()

	var (
		wg      sync.WaitGroup
		started atomic.Int64
	)
	for _, c := range conns {
		wg.Go(func() {
			if ok, _ := c.sendClose(code, reason); ok {
				started.Add(1)
			}
		})
	}
	wg.Wait()
	return int(started.Load())
}

// add registers c; after CloseAll it reports the close frame c must get
// instead.
func (t *Tracker) add(c *conn) (code int, reason string, shut bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conns == nil {
		t.conns = make(map[*conn]struct{})
	}
	t.conns[c] = struct{}{}
	return t.code, t.reason, t.shut
}

func (t *Tracker) remove(c *conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}
