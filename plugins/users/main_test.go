package main

import (
	"encoding/json"
	"strconv"
	"testing"
)

func TestNewUser(t *testing.T) {
	// intN returning its maximum gives the top of every range.
	for _, intN := range []func(int) int{
		func(int) int { return 0 },
		func(n int) int { return n - 1 },
	} {
		key, value, err := newUser(intN)
		if err != nil {
			t.Fatal(err)
		}
		var u map[string]any
		if err := json.Unmarshal(value, &u); err != nil {
			t.Fatalf("value %s: %v", value, err)
		}
		if len(u) != 3 || u["name"] == "" || u["favorite_color"] == "" {
			t.Errorf("value %s", value)
		}
		if n := u["favorite_number"].(float64); n < 0 || n > 1000 {
			t.Errorf("favorite_number %v", n)
		}
		if k, err := strconv.Atoi(string(key)); err != nil || k < 0 || k > 100 {
			t.Errorf("key %q", key)
		}
	}
	key, value, _ := newUser(func(n int) int { return n - 1 })
	if string(key) != "100" || string(value) != `{"name":"Radia","favorite_color":"yellow","favorite_number":1000}` {
		t.Errorf("key %s value %s", key, value)
	}
}
