package raftnode

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"testing"
)

func TestSnapshotHeaderRoundTripsAndLeavesTheUserBytes(t *testing.T) {
	h := snapshotHeader{Version: snapshotVersion, AppliedIndex: 42, SMIndex: 40, MetaIndex: 3, Nodes: map[string]string{"n1": "http://a", "n2": ""}}
	var buf bytes.Buffer
	if err := writeSnapshotHeader(&buf, h); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("user bytes")
	got, err := readSnapshotHeader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.AppliedIndex != 42 || got.SMIndex != 40 || got.MetaIndex != 3 || !maps.Equal(got.Nodes, h.Nodes) {
		t.Fatalf("header = %+v, want %+v", got, h)
	}
	if rest, _ := io.ReadAll(&buf); string(rest) != "user bytes" {
		t.Fatalf("user bytes = %q", rest)
	}
}

func TestSnapshotHeaderRejectsForeignOrDamagedData(t *testing.T) {
	var good bytes.Buffer
	if err := writeSnapshotHeader(&good, snapshotHeader{Version: snapshotVersion}); err != nil {
		t.Fatal(err)
	}
	huge := append([]byte(nil), good.Bytes()[:8]...)
	huge = append(huge, 0xff, 0xff, 0xff, 0xff)
	cases := map[string][]byte{
		"empty":           nil,
		"foreign magic":   []byte("PK\x03\x04 not a raftnode snapshot"),
		"truncated":       good.Bytes()[:good.Len()-1],
		"header too long": huge,
	}
	for name, raw := range cases {
		if _, err := readSnapshotHeader(bytes.NewReader(raw)); err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}
}

func TestNotLeaderErrorWrapsErrNotLeader(t *testing.T) {
	err := error(&NotLeaderError{LeaderID: "n1", LeaderHTTPURL: "http://a"})
	if !errors.Is(err, ErrNotLeader) {
		t.Fatal("NotLeaderError does not wrap ErrNotLeader")
	}
}
