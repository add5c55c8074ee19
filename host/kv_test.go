package host_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wasmhost/wasmhost/host"
)

// mapState is a host.State over a map, refusing puts once it holds max
// keys.
type mapState struct {
	m   map[string][]byte
	max int
}

func (s *mapState) Get(k []byte) ([]byte, bool) { v, ok := s.m[string(k)]; return v, ok }
func (s *mapState) Delete(k []byte)             { delete(s.m, string(k)) }
func (s *mapState) Put(k, v []byte) error {
	if _, ok := s.m[string(k)]; !ok && len(s.m) >= s.max {
		return errors.New("state: over state.max_keys")
	}
	s.m[string(k)] = bytes.Clone(v)
	return nil
}
func (s *mapState) Scan(start, end []byte, fn func(k, v []byte) bool) {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k >= string(start) && (end == nil || k < string(end)) && !fn([]byte(k), s.m[k]) {
			return
		}
	}
}

func TestStateFunctionsReachTheStore(t *testing.T) {
	rt := newRuntime(t)
	p := load(t, rt, "internal/e2e/testdata/plugins/wordcount")
	if !p.UsesState() {
		t.Fatal("UsesState is false for a plugin that imports state_get")
	}
	if load(t, rt, "plugins/forward").UsesState() {
		t.Fatal("UsesState is true for forward, which imports no state function")
	}
	st := &mapState{m: map[string][]byte{"k1": []byte("41")}, max: 3}
	inst := instantiate(t, p, host.InstanceOptions{Config: map[string]string{"to": "counts"}, State: st})
	res, err := inst.HandleBatch(t.Context(), batchOf("a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range res.Outputs {
		got = append(got, string(o.Record.Key)+"="+string(o.Record.Value))
	}
	if strings.Join(got, " ") != "k0=1 k1=42 k2=1" || len(res.Failures) != 0 || string(st.m["k1"]) != "42" {
		t.Fatalf("outputs %v", got)
	}
	// k2 is a third key: the store refused it, and the call fails with
	// the store's reason whatever the plugin did with the status.
	st = &mapState{m: map[string][]byte{}, max: 2}
	inst = instantiate(t, p, host.InstanceOptions{Config: map[string]string{"to": "counts"}, State: st})
	_, err = inst.HandleBatch(t.Context(), batchOf("a", "b", "c"))
	if err == nil || !strings.Contains(err.Error(), "over state.max_keys") {
		t.Fatalf("a refused put: %v, want the call to fail with the store's reason", err)
	}
	// Without a store the plugin gets NoState and fails its records.
	inst = instantiate(t, p, host.InstanceOptions{Config: map[string]string{"to": "counts"}})
	res, err = inst.HandleBatch(t.Context(), batchOf("a"))
	if err != nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Reason, "no state") {
		t.Fatalf("without state: %+v, %v", res, err)
	}
}

// TestStateFunctionsRefuseHostileArguments hands the state functions
// pointers and lengths outside guest memory, wrapping around it, over the
// bounds and empty: each gets a status, nothing panics, and only the one
// good put changes the store.
func TestStateFunctionsRefuseHostileArguments(t *testing.T) {
	rt := newRuntime(t)
	p := load(t, rt, "host/testdata/plugins/statehostile")
	st := &mapState{m: map[string][]byte{}, max: 10}
	inst := instantiate(t, p, host.InstanceOptions{State: st})
	res, err := inst.HandleBatch(t.Context(), batchOf("a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 1 {
		t.Fatalf("failures %+v", res.Failures)
	}
	want := "put_key_far=-1 put_value_far=-1 put_key_wraps=-1 put_key_huge=-6 put_value_huge=-6 put_key_empty=-4 put_ok=0 " +
		"get_val_far=-1 get_small_cap=3 get_ok=3 delete_far=-1 scan_buf_far=-1 scan_buf_wraps=-1 scan_start_huge=-6 " +
		"scan_cap_3=-2 scan_ok=14"
	if got := res.Failures[0].Reason; got != want {
		t.Fatalf("statuses\n got %s\nwant %s", got, want)
	}
	if len(st.m) != 1 || string(st.m["key"]) != "key" {
		t.Fatalf("store %v: only the good put may change it", st.m)
	}
}
