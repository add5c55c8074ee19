// Command dedup is an example wasmhost plugin: a per-key deduplicator on
// the state store. A record whose key (its id) was seen in the last
// `window` is dropped; any other is forwarded to `to`, key, value and
// headers intact. Time is the records' own timestamps, so a replay
// deduplicates as the first run did. Each tick forgets the ids older than
// the window, so the store holds about one window of ids.
//
// Config:
//
//	to      the topic records are forwarded to (required)
//	window  how long an id is remembered, a Go duration (default "10m")
//
// State: "id/<id>" holds the timestamp (Unix ms, decimal) the id was last
// forwarded at, and "t/<timestamp, 16 digits>/<id>" indexes the ids by that
// time so a tick finds the expired ones with one range scan.
package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/wasmhost/wasmhost/sdk"
)

func init() {
	sdk.OnRecord(dedup)
	sdk.OnTick(expire)
}

func config() (to string, window time.Duration, err error) {
	to, _ = sdk.Config("to")
	if to == "" {
		return "", 0, errors.New(`dedup: config "to" is required`)
	}
	window = 10 * time.Minute
	if w, ok := sdk.Config("window"); ok {
		if window, err = time.ParseDuration(w); err != nil || window <= 0 {
			return "", 0, fmt.Errorf("dedup: config window %q: want a positive duration such as \"10m\"", w)
		}
	}
	return to, window, nil
}

func idKey(id []byte) []byte { return append([]byte("id/"), id...) }

func timeKey(ms int64, id []byte) []byte {
	return append(fmt.Appendf(nil, "t/%016d/", ms), id...)
}

func dedup(r *sdk.Record) error {
	to, window, err := config()
	if err != nil {
		return err
	}
	if len(r.Key) == 0 {
		return errors.New("dedup: a record without a key has no id")
	}
	seen, ok, err := sdk.State.Get(idKey(r.Key))
	if err != nil {
		return err
	}
	if ok {
		last, err := strconv.ParseInt(string(seen), 10, 64)
		if err != nil {
			return fmt.Errorf("dedup: state of id %q: %w", r.Key, err)
		}
		if r.Timestamp-last < window.Milliseconds() {
			return nil // a duplicate: dropped
		}
		if err := sdk.State.Delete(timeKey(last, r.Key)); err != nil {
			return err
		}
	}
	if err := sdk.State.Put(idKey(r.Key), strconv.AppendInt(nil, r.Timestamp, 10)); err != nil {
		return err
	}
	if err := sdk.State.Put(timeKey(r.Timestamp, r.Key), nil); err != nil {
		return err
	}
	return sdk.ProduceRecord(&sdk.Record{Topic: to, Partition: -1, Key: r.Key, Value: r.Value, Headers: r.Headers})
}

// expire forgets the ids last seen more than a window before now.
func expire(now time.Time) error {
	_, window, err := config()
	if err != nil {
		return err
	}
	cutoff := now.Add(-window).UnixMilli()
	var old [][]byte
	err = sdk.State.Scan([]byte("t/"), fmt.Appendf(nil, "t/%016d/", cutoff), func(k, _ []byte) bool {
		old = append(old, append([]byte(nil), k...))
		return true
	})
	if err != nil {
		return err
	}
	for _, k := range old {
		id := k[len("t/0000000000000000/"):]
		if err := errors.Join(sdk.State.Delete(k), sdk.State.Delete(idKey(id))); err != nil {
			return err
		}
	}
	if len(old) > 0 {
		sdk.Infof("forgot %d ids seen before %s", len(old), time.UnixMilli(cutoff).UTC().Format(time.RFC3339))
	}
	return nil
}

func main() {}
