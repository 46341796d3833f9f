package chaos

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

// The checker can fail: a read that misses an acknowledged write before it, or sees a
// write twice, is not linearizable under the model.
func TestModelRefusesStaleAndDoubledReads(t *testing.T) {
	ok := []porcupine.Operation{
		{ClientId: 0, Input: opInput{true, 0}, Call: 0, Return: 10},
		{ClientId: 1, Input: opInput{false, 0}, Call: 20, Return: 30, Output: opOutput{2}},
	}
	if porcupine.CheckOperations(model, ok) != true {
		t.Fatal("a read after an acknowledged write that sees it is refused")
	}
	stale := []porcupine.Operation{ok[0], {ClientId: 1, Input: opInput{false, 0}, Call: 20, Return: 30, Output: opOutput{1}}}
	if porcupine.CheckOperations(model, stale) {
		t.Fatal("a stale read (missing an acknowledged write) passed")
	}
	doubled := []porcupine.Operation{ok[0], {ClientId: 1, Input: opInput{false, 0}, Call: 20, Return: 30, Output: opOutput{3}}}
	if porcupine.CheckOperations(model, doubled) {
		t.Fatal("a read seeing a write twice passed")
	}
}
