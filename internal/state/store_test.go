package state

import (
	"errors"
	"fmt"
	"maps"
	"testing"
)

func contents(s *Store) map[string]string {
	m := map[string]string{}
	s.Scan(nil, nil, func(k, v []byte) bool {
		m[string(k)] = string(v)
		return true
	})
	return m
}

func mustPut(t *testing.T, s *Store, k, v string) {
	t.Helper()
	if err := s.Put([]byte(k), []byte(v)); err != nil {
		t.Fatalf("Put(%q): %v", k, err)
	}
}

func TestStoreAbortRestoresCommitted(t *testing.T) {
	s := New(Limits{})
	mustPut(t, s, "a", "1")
	mustPut(t, s, "b", "2")
	s.Commit()
	want := contents(s)
	wantBytes := s.Bytes()

	mustPut(t, s, "a", "10")
	s.Delete([]byte("b"))
	mustPut(t, s, "c", "3")
	mustPut(t, s, "c", "33")
	s.Delete([]byte("c"))
	mustPut(t, s, "d", "4")
	s.Abort()
	if got := contents(s); !maps.Equal(got, want) {
		t.Fatalf("after abort: %v, want %v", got, want)
	}
	if s.Bytes() != wantBytes || s.Len() != 2 {
		t.Fatalf("after abort: %d keys, %d bytes; want 2, %d", s.Len(), s.Bytes(), wantBytes)
	}
	if keys, bytes := s.Size(); keys != 2 || bytes != wantBytes {
		t.Fatalf("Size() = %d, %d", keys, bytes)
	}
}

func TestStoreCallRollbackKeepsEarlierCalls(t *testing.T) {
	s := New(Limits{})
	s.BeginCall()
	mustPut(t, s, "a", "1")
	s.EndCall(true)
	s.BeginCall()
	mustPut(t, s, "a", "2")
	mustPut(t, s, "b", "1")
	if !s.CallChanged() {
		t.Fatal("CallChanged is false after puts")
	}
	s.EndCall(false)
	if got := contents(s); !maps.Equal(got, map[string]string{"a": "1"}) {
		t.Fatalf("after a dropped call: %v", got)
	}
	var changes []string
	s.Changes(func(k string, v []byte) { changes = append(changes, fmt.Sprintf("%s=%s", k, v)) })
	if fmt.Sprint(changes) != "[a=1]" {
		t.Fatalf("changes = %v, want [a=1]", changes)
	}
}

func TestStoreChangesOncePerKeyWithTombstones(t *testing.T) {
	s := New(Limits{})
	mustPut(t, s, "x", "old")
	s.Commit()
	mustPut(t, s, "k", "1")
	mustPut(t, s, "k", "2")
	s.Delete([]byte("x"))
	var got []string
	s.Changes(func(k string, v []byte) {
		if v == nil {
			got = append(got, k+"=<deleted>")
			return
		}
		got = append(got, k+"="+string(v))
	})
	if fmt.Sprint(got) != "[k=2 x=<deleted>]" {
		t.Fatalf("changes = %v", got)
	}
	s.Commit()
	if s.Changed() {
		t.Fatal("Changed after Commit")
	}
}

func TestStoreLimits(t *testing.T) {
	s := New(Limits{MaxKeys: 2, MaxBytes: 10})
	mustPut(t, s, "a", "1")
	mustPut(t, s, "b", "1")
	err := s.Put([]byte("c"), []byte("1"))
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "max_keys" {
		t.Fatalf("third key: %v, want a max_keys LimitError", err)
	}
	mustPut(t, s, "a", "1234567") // 1+7 + 1+1 = 10 bytes: at the limit
	err = s.Put([]byte("b"), []byte("12"))
	if !errors.As(err, &le) || le.Limit != "max_bytes" {
		t.Fatalf("over bytes: %v, want a max_bytes LimitError", err)
	}
	if want := `state: put of key "b" refused: the partition's store would hold 11 bytes, over state.max_bytes = 10`; err.Error() != want {
		t.Fatalf("reason = %q\nwant     %q", err, want)
	}
	if got := contents(s); !maps.Equal(got, map[string]string{"a": "1234567", "b": "1"}) {
		t.Fatalf("a refused put changed the store: %v", got)
	}
}

func TestStoreScanRange(t *testing.T) {
	s := New(Limits{})
	for _, k := range []string{"t/3", "t/1", "u/1", "t/2", "s/9"} {
		mustPut(t, s, k, "v")
	}
	var got []string
	s.Scan([]byte("t/"), []byte("t0"), func(k, _ []byte) bool {
		got = append(got, string(k))
		return true
	})
	if fmt.Sprint(got) != "[t/1 t/2 t/3]" {
		t.Fatalf("prefix t/: %v", got)
	}
	s.Delete([]byte("t/2"))
	got = got[:0]
	s.Scan([]byte("t/"), nil, func(k, _ []byte) bool {
		got = append(got, string(k))
		return len(got) < 2
	})
	if fmt.Sprint(got) != "[t/1 t/3]" {
		t.Fatalf("from t/, stopping after 2: %v", got)
	}
}

func TestApplyRebuilds(t *testing.T) {
	s := New(Limits{})
	s.Apply([]byte("a"), []byte("1"))
	s.Apply([]byte("b"), []byte("2"))
	s.Apply([]byte("a"), []byte("3"))
	s.Apply([]byte("b"), nil)
	if got := contents(s); !maps.Equal(got, map[string]string{"a": "3"}) || s.Bytes() != 2 || s.Changed() {
		t.Fatalf("after Apply: %v, %d bytes, changed %v", got, s.Bytes(), s.Changed())
	}
}
