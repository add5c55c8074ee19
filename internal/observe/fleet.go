package observe

import (
	"net/http"

	"github.com/wasmhost/wasmhost/internal/fleet"
)

// SetFleet sets where /api/fleet and the status page's fleet section read
// the fleet from: the daemon's view of the status topic. Without it (the
// fleet view is off) /api/fleet answers 404.
func (m *Monitor) SetFleet(f func() fleet.FleetStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fleet = f
}

// Fleet is the fleet as the status topic shows it, and whether the daemon
// follows that topic at all.
func (m *Monitor) Fleet() (fleet.FleetStatus, bool) {
	m.mu.Lock()
	f := m.fleet
	m.mu.Unlock()
	if f == nil {
		return fleet.FleetStatus{}, false
	}
	return f(), true
}

// Stopping reports whether the daemon is shutting down.
func (m *Monitor) Stopping() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopping
}

func (m *Monitor) serveFleet(w http.ResponseWriter, _ *http.Request) {
	f, ok := m.Fleet()
	if !ok {
		plain(w, http.StatusNotFound, "the fleet view is off: fleet.status_interval is \"0s\"\n")
		return
	}
	serveJSON(w, f)
}
