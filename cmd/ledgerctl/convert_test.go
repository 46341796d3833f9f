package main

import (
	"strings"
	"testing"
)

// TestNewKey: a fresh random key per invocation, named after the command.
func TestNewKey(t *testing.T) {
	a, b := newKey("approval"), newKey("approval")
	if a == b || !strings.HasPrefix(a, "ctl/approval/") || len(a) != len("ctl/approval/")+32 {
		t.Fatalf("keys %q %q", a, b)
	}
}
