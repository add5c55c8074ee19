package pipeline

import "time"

// Gate decides when a source may tick; a source without one always may.
// fleet.Lease is the Gate of a source that runs once per fleet: it opens
// while this daemon holds the source's lease.
type Gate interface {
	// Enter reports whether a tick may run now. When it returns true,
	// Exit must follow once the tick's records are handed to the
	// producer: a Gate that closes waits for that.
	Enter() bool
	Exit()
	// Status is what the status API shows of the gate.
	Status() LeaseStatus
}

// LeaseStatus is a source's lease, as the status API shows it.
type LeaseStatus struct {
	Group string `json:"group"` // the lease's consumer group
	// State is "held" (this daemon ticks), "standby" (in the group,
	// another member holds the lease), "joining" (not in the group: the
	// brokers are unreachable, or a rebalance is under way) or "stopped".
	State    string    `json:"state"`
	Since    time.Time `json:"since"`    // of the state
	Acquired uint64    `json:"acquired"` // times this daemon took the lease
	Member   string    `json:"member"`   // this daemon's member id in the group, once joined
}

// enter asks the source's gate, if it has one, whether a tick may run.
func (s *Source) enter() bool { return s.o.Gate == nil || s.o.Gate.Enter() }

// exit ends a tick that enter let run.
func (s *Source) exit() {
	if s.o.Gate != nil {
		s.o.Gate.Exit()
	}
}

// lease is the status of the source's gate, or nil without one.
func (s *Source) lease() *LeaseStatus {
	if s.o.Gate == nil {
		return nil
	}
	st := s.o.Gate.Status()
	return &st
}
