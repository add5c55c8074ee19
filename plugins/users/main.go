// Command users is a wasmhost source plugin: on each tick it produces one
// random user as JSON,
//
//	{"name":"Ada","favorite_color":"teal","favorite_number":412}
//
// with a favorite number from 0 to 1000, keyed by a random number from 0 to
// 100 written in decimal, to the topic named by its config key "topic"
// (default "users").
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o users.wasm ./plugins/users
package main

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/wasmhost/wasmhost/sdk"
)

var (
	names  = []string{"Ada", "Alan", "Barbara", "Dennis", "Donald", "Edsger", "Frances", "Grace", "Ken", "Leslie", "Margaret", "Radia"}
	colors = []string{"black", "blue", "green", "orange", "pink", "purple", "red", "teal", "white", "yellow"}
)

type user struct {
	Name           string `json:"name"`
	FavoriteColor  string `json:"favorite_color"`
	FavoriteNumber int    `json:"favorite_number"`
}

func init() { sdk.OnTick(tick) }

func tick(time.Time) error {
	topic, ok := sdk.Config("topic")
	if !ok || topic == "" {
		topic = "users"
	}
	key, value, err := newUser(rand.IntN)
	if err != nil {
		return err
	}
	return sdk.Produce(topic, key, value)
}

// newUser makes a random user's key and JSON value; intN returns a number in
// [0, n).
func newUser(intN func(n int) int) (key, value []byte, err error) {
	value, err = json.Marshal(user{
		Name:           names[intN(len(names))],
		FavoriteColor:  colors[intN(len(colors))],
		FavoriteNumber: intN(1001),
	})
	return strconv.AppendInt(nil, int64(intN(101)), 10), value, err
}

func main() {}
