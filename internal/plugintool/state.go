package plugintool

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/wasmhost/wasmhost/internal/state"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// StateEntry is one key of a plugin's state in a --state file and in the
// --state file: a JSON line {"key":"k","value":"v"}.
type StateEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ReadStateFile reads the initial state of a stateful plugin, one
// StateEntry per line; a bad line is an error naming it.
func ReadStateFile(path string) ([]StateEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []StateEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 2<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var e StateEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("%s:%d: want {\"key\":\"k\",\"value\":\"v\"}: %w", path, n, err)
		}
		if e.Key == "" {
			return nil, fmt.Errorf("%s:%d: a state key may not be empty", path, n)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// newStore gives a plugin that uses state a store holding the initial
// entries; nil for a plugin that does not.
func (r *runner) newStore() *state.Store {
	if !r.plugin.UsesState() {
		return nil
	}
	s := state.New(state.Limits{})
	for _, e := range r.o.State {
		s.Apply([]byte(e.Key), []byte(e.Value))
	}
	s.Publish()
	return s
}

// beginCall and endCall bracket a call as the daemon does: the changes of
// a call that failed, or in which a record failed, are taken back.
func (r *runner) beginCall() {
	if r.store != nil {
		r.store.BeginCall()
	}
}

func (r *runner) endCall(keep bool) {
	if r.store == nil {
		return
	}
	if !keep && r.store.CallChanged() {
		fmt.Fprintln(r.report, "  (the call's state changes are taken back)")
	}
	r.store.EndCall(keep)
	r.store.Commit()
}

// finalState writes the store's keys to the account and ends the
// transcript with them, in key order.
func (r *runner) finalState(w io.Writer) {
	if r.store == nil {
		return
	}
	r.sum.StateKeys = r.store.Len()
	fmt.Fprintf(w, "final state, %d keys:\n", r.store.Len())
	r.store.Scan(nil, nil, func(k, v []byte) bool {
		e := Entry{Input: -1, Tick: -1, State: true,
			Record: abi.Record{Key: bytes.Clone(k), Value: append([]byte{}, v...)}}
		r.entries = append(r.entries, e)
		if b, err := e.MarshalJSON(); err == nil {
			fmt.Fprintf(w, "    %s\n", b)
		}
		return true
	})
}
