package daemon

import (
	"crypto/rand"
	"fmt"
)

// NewID returns a random (version 4) UUID naming one run of a daemon. It is
// on every log line (daemon=...), in the status API, and, shortened, in the
// client id of every Kafka client the daemon opens, so that two daemons of a
// fleet never share a consumer id and a record can be traced to the daemon
// that handled it. crypto/rand is enough for this: a dependency on a UUID
// library would buy nothing but the formatting below.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])  // never fails on Linux (crypto/rand documents it)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// shortID is the part of a daemon id that goes into Kafka client ids: the
// first 8 hex digits, enough to tell a fleet's daemons apart in a group.
func shortID(id string) string {
	if len(id) < 8 {
		return id
	}
	return id[:8]
}
