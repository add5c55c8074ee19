package kafka

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Idempotent producers' sequence state across a crash of the broker.
//
// kfake answers the retry of a batch it already wrote as a duplicate (at
// the batch's first offset) from a window of the last five batches of each
// producer in each partition. It saves those windows to seq_windows.json
// only when it stops gracefully; after a kill -9 the file is missing or
// stale, and kfake writes such a retry again. Apache Kafka rebuilds that
// state from its log at start, and so does this: every batch on disk
// carries its producer id, epoch and first sequence, so before kfake loads,
// the windows are replayed from the segments with kfake's own rule
// (pushAndValidate in txns.go) and written into seq_windows.json in
// kfake's format (persistSeqWindows in persist.go, version 1, "entries"
// form), merged with what the last graceful stop saved. kfake's
// loadFromDisk reads the file after the producer ids (pids.log, written as
// they are made) and keeps a window only for a producer id that log knows.
//
// A partition that log compaction has rewritten is left to the saved
// state: kfake's compaction renumbers a batch's record count, so its
// sequence range can no longer be read from it.

const (
	seqWindowsFile    = "seq_windows.json"
	seqWindowsVersion = 1 // kfake's currentPersistVersion
	seqWindowLen      = 5 // batches per producer and partition
)

// seqWindow is kfake's persistSeqWindowEntry in its "entries" form:
// Entries is a ring, At the next slot to write, Count the valid slots.
type seqWindow struct {
	PID     int64                  `json:"pid"`
	Topic   string                 `json:"topic"`
	Part    int32                  `json:"partition"`
	Entries [seqWindowLen]seqEntry `json:"entries,omitempty"`
	Count   uint8                  `json:"count,omitempty"`
	At      uint8                  `json:"at"`
	Epoch   int16                  `json:"epoch"`
	Seen    bool                   `json:"seen,omitempty"`
	NextSeq int32                  `json:"next_seq,omitempty"`
}

// seqEntry is kfake's persistPidEntry: one batch a producer wrote.
type seqEntry struct {
	FirstSeq int32 `json:"first_seq"`
	NextSeq  int32 `json:"next_seq"`
	Offset   int64 `json:"offset"`
}

type seqKey struct {
	pid   int64
	topic string
	part  int32
}

func (w *seqWindow) key() seqKey { return seqKey{w.PID, w.Topic, w.Part} }

// push records a batch the broker accepted, as kfake's pushAndValidate
// does: a new epoch starts the window again.
func (w *seqWindow) push(epoch int16, e seqEntry) {
	if !w.Seen || epoch != w.Epoch {
		w.Entries = [seqWindowLen]seqEntry{e}
		w.Seen, w.Epoch, w.NextSeq, w.At, w.Count = true, epoch, e.NextSeq, 1, 1
		return
	}
	w.Entries[w.At] = e
	w.At = (w.At + 1) % seqWindowLen
	w.Count = min(w.Count+1, seqWindowLen)
	w.NextSeq = e.NextSeq
}

// entries returns the window's batches, oldest first.
func (w *seqWindow) entries() []seqEntry {
	out := make([]seqEntry, 0, w.Count)
	for i := range int(w.Count) {
		out = append(out, w.Entries[(int(w.At)+seqWindowLen-int(w.Count)+i)%seqWindowLen])
	}
	return out
}

// seqBuilder replays one partition's batches, in offset order.
type seqBuilder struct {
	topic     string
	part      int32
	byPID     map[int64]*seqWindow
	next      int64 // offset the next batch should start at; -1 before the first
	compacted bool
}

func newSeqBuilder(topic string, part int32) *seqBuilder {
	return &seqBuilder{topic: topic, part: part, byPID: map[int64]*seqWindow{}, next: -1}
}

func (s *seqBuilder) add(b *kmsg.RecordBatch) {
	// kfake writes batches back to back, each with as many records as
	// offsets; compaction leaves holes or fewer records.
	if (s.next >= 0 && b.FirstOffset != s.next) || b.NumRecords != b.LastOffsetDelta+1 {
		s.compacted = true
	}
	s.next = b.FirstOffset + int64(b.LastOffsetDelta) + 1
	if b.ProducerID < 0 || b.Attributes&batchAttrControl != 0 {
		return
	}
	w := s.byPID[b.ProducerID]
	if w == nil {
		w = &seqWindow{PID: b.ProducerID, Topic: s.topic, Part: s.part}
		s.byPID[b.ProducerID] = w
	}
	next := int32((int64(b.FirstSequence) + int64(b.NumRecords)) % math.MaxInt32)
	w.push(b.ProducerEpoch, seqEntry{FirstSeq: b.FirstSequence, NextSeq: next, Offset: b.FirstOffset})
}

// windows returns the rebuilt windows, none for a compacted partition.
func (s *seqBuilder) windows(log zerolog.Logger) []seqWindow {
	if s.compacted {
		log.Info().Str("topic", s.topic).Int32("partition", s.part).
			Msg("embedded broker: compacted partition: its idempotent producers' sequence state is the last graceful stop's")
		return nil
	}
	out := make([]seqWindow, 0, len(s.byPID))
	for _, w := range s.byPID {
		out = append(out, *w)
	}
	return out
}

// mergeSeqWindows writes the rebuilt windows into dataDir's
// seq_windows.json. A saved window the log has no batches for (its
// segments deleted) is kept as saved. Where both exist the log's is the
// newer, since every batch kfake accepted is on disk; the saved one only
// adds older batches of the same epoch, those the log no longer holds.
func mergeSeqWindows(dataDir string, rebuilt []seqWindow, log zerolog.Logger) error {
	path := filepath.Join(dataDir, seqWindowsFile)
	saved, err := readSeqWindows(path)
	if err != nil {
		return err
	}
	out := make(map[seqKey]json.RawMessage, len(saved)+len(rebuilt))
	savedBy := make(map[seqKey]seqWindow, len(saved))
	for _, raw := range saved {
		var w seqWindow
		if err := json.Unmarshal(raw, &w); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out[w.key()], savedBy[w.key()] = raw, w
	}
	ahead := 0
	for _, w := range rebuilt {
		s, ok := savedBy[w.key()]
		if ok && s.Count > 0 && s.Epoch == w.Epoch {
			w = withOlder(w, s)
		}
		if !ok || s.NextSeq != w.NextSeq || s.Epoch != w.Epoch {
			ahead++
		}
		raw, err := json.Marshal(w)
		if err != nil {
			return err
		}
		out[w.key()] = raw
	}
	if ahead == 0 {
		return nil // the saved state already knows every batch
	}
	log.Info().Int("windows", len(rebuilt)).Int("ahead_of_saved", ahead).
		Msg("embedded broker: rebuilt idempotent producers' sequence state from the log (the last stop was not graceful)")
	return writeSeqWindows(path, out)
}

// withOlder puts s's batches older than w's oldest in front of w's.
func withOlder(w, s seqWindow) seqWindow {
	have := w.entries()
	if len(have) == seqWindowLen {
		return w
	}
	m := seqWindow{PID: w.PID, Topic: w.Topic, Part: w.Part}
	older := s.entries()
	slices.SortFunc(older, func(a, b seqEntry) int { return cmp.Compare(a.Offset, b.Offset) })
	for _, e := range older {
		if e.Offset < have[0].Offset {
			m.push(w.Epoch, e)
		}
	}
	for _, e := range have {
		m.push(w.Epoch, e)
	}
	return m
}

// readSeqWindows returns the saved windows, each as kfake wrote it.
func readSeqWindows(path string) ([]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f struct {
		Version int               `json:"version"`
		Windows []json.RawMessage `json:"windows"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Version != seqWindowsVersion {
		return nil, fmt.Errorf("%s: version %d, this build reads version %d", path, f.Version, seqWindowsVersion)
	}
	return f.Windows, nil
}

// writeSeqWindows replaces path with windows, in a stable order.
func writeSeqWindows(path string, windows map[seqKey]json.RawMessage) error {
	keys := make([]seqKey, 0, len(windows))
	for k := range windows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b seqKey) int {
		return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.part, b.part), cmp.Compare(a.pid, b.pid))
	})
	ws := make([]json.RawMessage, len(keys))
	for i, k := range keys {
		ws[i] = windows[k]
	}
	data, err := json.Marshal(struct {
		Version int               `json:"version"`
		Windows []json.RawMessage `json:"windows"`
	}{seqWindowsVersion, ws})
	if err != nil {
		return err
	}
	return writeFileSync(path, data)
}
