package ledger

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/cloudledger/cloudledger/errcode"
	bolt "go.etcd.io/bbolt"
)

// State files written before the kafka_* buckets kept the bridge's positions and outbox in
// the settings bucket; opening one moves them to their tables.
func TestOpenMovesLegacyKafkaSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	dl, _ := json.Marshal(DeadLetter{Seq: 1, Topic: "usage", Partition: 2, Offset: 7, Code: errcode.UnknownResource, Reason: "x"})
	if err := db.Update(func(tx *bolt.Tx) error {
		s := tx.Bucket([]byte("settings"))
		for k, v := range map[string]string{"kafka_offset/usage/2": "8", "kafka_published/ledger": "41",
			"kafka_dlq/00000000000000000001": string(dl), "kafka_dlq_count": "1", metaWindowEndMonth: "12"} {
			if err := s.Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	l, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.KafkaOffset("usage", 2); got != 8 {
		t.Errorf("offset %d, want 8", got)
	}
	if got := l.Published("ledger"); got != 41 {
		t.Errorf("published %d, want 41", got)
	}
	if got := l.DeadLetterCount(); got != 1 {
		t.Errorf("dead letters %d, want 1", got)
	}
	if d, err := l.DeadLetters(1, 10); err != nil || len(d) != 1 || d[0].Offset != 7 {
		t.Errorf("dead letters %+v, %v", d, err)
	}
	var left []string
	_ = l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("settings")).ForEach(func(k, _ []byte) error { left = append(left, string(k)); return nil })
	})
	if len(left) != 1 || left[0] != metaWindowEndMonth {
		t.Errorf("settings left: %q, want only %s", left, metaWindowEndMonth)
	}
}
